#include "ringgate/tokenize/tokenizer.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace ringgate::tokenize;

namespace {

const std::string kModels = RINGGATE_TEST_MODELS;

const Tokenizer& llama() {
  static const Tokenizer t = [] {
    auto r = Tokenizer::load(kModels + "/tokenizer-llama3_1/models");
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    return r.value();
  }();
  return t;
}

std::vector<std::int32_t> encode(const Tokenizer& t, std::string_view text, bool add_special = false) {
  std::vector<std::int32_t> ids;
  REQUIRE(t.encode(text, add_special, ids).ok());
  return ids;
}

// A tiny byte-level tokenizer.json: enough to pin the pipeline's order.
constexpr std::string_view kTiny = R"({
  "normalizer": null,
  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": " ?\\p{L}+|\\s+"}, "behavior": "Isolated", "invert": false},
    {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
  "post_processor": {"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
    "special_tokens": {"<s>": {"id": "<s>", "ids": [100], "tokens": ["<s>"]}}},
  "added_tokens": [{"id": 100, "content": "<s>", "special": true, "normalized": false},
                   {"id": 101, "content": "<|end|>", "special": true, "normalized": false}],
  "model": {"type": "BPE", "dropout": null, "unk_token": null, "byte_fallback": false,
    "vocab": {"a": 0, "b": 1, "\u0120": 2, "ab": 3, "\u0120a": 4, "\u0120ab": 5},
    "merges": ["\u0120 a", "\u0120a b", "a b"]}
})";

}  // namespace

TEST_CASE("Tokenizer: a tiny tokenizer.json, pipeline in order") {
  auto t = Tokenizer::from_json(kTiny);
  REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.error().message));
  CHECK(encode(t.value(), "ab ab") == std::vector<std::int32_t>{3, 5});
  CHECK(encode(t.value(), "ab ab", true) == std::vector<std::int32_t>{100, 3, 5});
  // Special tokens are cut out before the pre-tokenizer sees the text.
  CHECK(encode(t.value(), "ab<|end|> ab") == std::vector<std::int32_t>{3, 101, 5});
  CHECK(t.value().token_id("\xC4\xA0" "ab") == 5);
  CHECK(t.value().token_id("<|end|>") == 101);
}

TEST_CASE("Tokenizer: what it cannot do is an error, never a guess") {
  CHECK_FALSE(Tokenizer::from_json("{").ok());
  CHECK_FALSE(Tokenizer::from_json(R"({"model": {"type": "Unigram"}})").ok());
  std::string metaspace(kTiny);
  metaspace.replace(metaspace.find("\"Sequence\", \"pretokenizers\""), 10, "\"Metaspace\"");
  CHECK_FALSE(Tokenizer::from_json(metaspace).ok());
  std::string lstrip(kTiny);
  lstrip.replace(lstrip.find("\"special\": true, \"normalized\": false}]"), 0, "\"lstrip\": true, ");
  CHECK_FALSE(Tokenizer::from_json(lstrip).ok());
  CHECK_FALSE(Tokenizer::load("/nonexistent").ok());
}

TEST_CASE("Tokenizer: Llama 3.1 ids (as the reference gives them)") {
  CHECK(encode(llama(), "Hello world!", true) == std::vector<std::int32_t>{128000, 9906, 1917, 0});
  // A special token inside text is that token; a lookalike is text.
  CHECK(encode(llama(), " <|eot_id|> ") == std::vector<std::int32_t>{220, 128009, 220});
  CHECK(encode(llama(), "<|eot_id").size() > 1);
  // Contractions fold ASCII case only: "'S" is one piece like "'s".
  CHECK(encode(llama(), "IT'S") == std::vector<std::int32_t>{964, 13575});
}

TEST_CASE("Tokenizer: hostile text is bounded in time and memory") {
  std::vector<std::int32_t> ids;
  // Invalid UTF-8 reads as U+FFFD (as Node's decoder reads the bytes).
  std::vector<std::int32_t> replaced;
  REQUIRE(llama().encode("a\xFF\xFE" "b", false, ids).ok());
  REQUIRE(llama().encode("a\xEF\xBF\xBD\xEF\xBF\xBD" "b", false, replaced).ok());
  CHECK(ids == replaced);
  // 400 KB of whitespace, one 400 KB word, 400 KB of emoji: each finishes (no
  // quadratic regex or BPE) with a token count bounded by the bytes.
  for (std::string text : {std::string(400'000, ' '), std::string(400'000, 'x'),
                           std::string(400'000 / 4 * 4, 'x').replace(0, 4, "\xF0\x9F\x98\x80")}) {
    ids.clear();
    REQUIRE(llama().encode(text, false, ids).ok());
    CHECK(!ids.empty());
    CHECK(ids.size() <= text.size());
  }
}
