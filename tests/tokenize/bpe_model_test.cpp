#include "ringgate/tokenize/bpe_model.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace ringgate::tokenize;

namespace {

std::vector<std::int32_t> encode(const BpeModel& m, std::string_view word) {
  BpeScratch scratch;
  std::vector<std::int32_t> ids;
  m.encode_word(word, scratch, ids);
  return ids;
}

}  // namespace

TEST_CASE("byte_to_unicode: GPT-2's alphabet and its inverse") {
  CHECK(byte_to_unicode('A') == U'A');
  CHECK(byte_to_unicode(' ') == U'\u0120');   // Ġ
  CHECK(byte_to_unicode('\n') == U'\u010A');  // Ċ
  for (int b = 0; b < 256; ++b) CHECK(unicode_to_byte(byte_to_unicode(static_cast<unsigned char>(b))) == b);
  std::string out;
  CHECK(byte_level_decode("\xC4\xA0hello", out));
  CHECK(out == " hello");
  CHECK_FALSE(byte_level_decode("\xE4\xB8\xAD", out));
}

TEST_CASE("BpeModel: lowest rank first, leftmost among equals") {
  BpeModel m;
  std::vector<std::pair<std::string, std::int32_t>> vocab = {
      {"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}, {"bc", 4}, {"aa", 5}, {"abc", 6}};
  // "b c" outranks "a b": "abc" → a + bc, and no "a bc" merge exists.
  REQUIRE(m.build({}, vocab, {{"b", "c"}, {"a", "b"}, {"a", "a"}}).empty());
  CHECK(encode(m, "abc") == std::vector<std::int32_t>{0, 4});
  CHECK(encode(m, "ab") == std::vector<std::int32_t>{3});
  // "aaa": the leftmost pair merges first.
  CHECK(encode(m, "aaa") == std::vector<std::int32_t>{5, 0});
}

TEST_CASE("BpeModel: ignore_merges takes a whole word found in the vocabulary") {
  std::vector<std::pair<std::string, std::int32_t>> vocab = {{"a", 0}, {"b", 1}, {"c", 2}, {"bc", 4}, {"abc", 6}};
  BpeModel plain, whole;
  REQUIRE(plain.build({}, vocab, {{"b", "c"}}).empty());
  BpeModel::Options o;
  o.ignore_merges = true;
  REQUIRE(whole.build(o, vocab, {{"b", "c"}}).empty());
  CHECK(encode(plain, "abc") == std::vector<std::int32_t>{0, 4});
  CHECK(encode(whole, "abc") == std::vector<std::int32_t>{6});
}

TEST_CASE("BpeModel: unknown characters fall back to <0xNN> bytes, else unk, else nothing") {
  std::vector<std::pair<std::string, std::int32_t>> vocab = {{"a", 0}, {"<unk>", 1}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    vocab.emplace_back(name, 10 + b);
  }
  BpeModel fallback, unk;
  BpeModel::Options o;
  o.byte_fallback = true;
  REQUIRE(fallback.build(o, vocab, {}).empty());
  CHECK(encode(fallback, "a\xC3\xA9") == std::vector<std::int32_t>{0, 10 + 0xC3, 10 + 0xA9});
  BpeModel::Options u;
  u.unk_token = "<unk>";
  REQUIRE(unk.build(u, vocab, {}).empty());
  CHECK(encode(unk, "a\xC3\xA9") == std::vector<std::int32_t>{0, 1});
}

TEST_CASE("BpeModel: a merge outside the vocabulary is refused, as Hugging Face refuses it") {
  BpeModel m;
  CHECK_FALSE(m.build({}, {{"a", 0}, {"b", 1}}, {{"a", "b"}}).empty());
}

TEST_CASE("BpeModel: one giant word is merged in n log n, not n^2") {
  // 400 KB with one merge that applies everywhere: a quadratic loop would not finish
  // in the test's time; the heap does it in well under a second on any machine.
  BpeModel m;
  REQUIRE(m.build({}, {{"a", 0}, {"aa", 1}, {"aaaa", 2}}, {{"a", "a"}, {"aa", "aa"}}).empty());
  std::string word(400'000, 'a');
  auto ids = encode(m, word);
  CHECK(ids.size() == 100'000);
  CHECK(ids.front() == 2);
}

TEST_CASE("BpeModel: the word cache answers per model, never another model's ids") {
  BpeModel one, two;
  REQUIRE(one.build({}, {{"a", 0}, {"b", 1}, {"ab", 2}}, {{"a", "b"}}).empty());
  REQUIRE(two.build({}, {{"a", 5}, {"b", 6}}, {}).empty());
  BpeScratch scratch;  // shared, as one thread's scratch is
  std::vector<std::int32_t> ids;
  for (int round = 0; round < 2; ++round) {
    ids.clear();
    one.encode_word("ab", scratch, ids);
    two.encode_word("ab", scratch, ids);
    CHECK(ids == std::vector<std::int32_t>{2, 5, 6});
  }
}
