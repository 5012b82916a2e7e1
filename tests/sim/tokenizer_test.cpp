#include "ringgate/sim/tokenizer.h"
#include "ringgate/sim/prompt_tokenizer.h"

#include <doctest/doctest.h>

#include <string>

using namespace ringgate::sim;

TEST_CASE("four bytes make a token, rounding up") {
  CHECK(count_tokens("") == 0);
  CHECK(count_tokens("a") == 1);
  CHECK(count_tokens("abcd") == 1);
  CHECK(count_tokens("abcde") == 2);
  CHECK(count_tokens(std::string(1000, 'x')) == 250);
}

namespace {
std::vector<uint64_t> block_hashes(std::string_view text, std::string_view lora, uint32_t block_size) {
  static const ringgate::kvevents::VllmBlockHasher hasher("0");
  std::vector<uint32_t> ids = ByteTokenizer().encode(text);
  return prompt_blocks(ids, hasher, lora, block_size).hashes;
}
}  // namespace

TEST_CASE("block hashes cover full blocks only and chain over the whole prefix") {
  std::string a(16 * 4 * 3 + 10, 'a');  // 3 full blocks of 16 tokens and a partial one
  auto ha = block_hashes(a, "", 16);
  CHECK(ha.size() == 3);
  std::string b = a;
  b[0] = 'b';  // a different first block changes every later hash
  auto hb = block_hashes(b, "", 16);
  REQUIRE(hb.size() == 3);
  for (size_t i = 0; i < 3; ++i) CHECK(ha[i] != hb[i]);
  std::string c = a;
  c[16 * 4 * 2] = 'c';  // a change in the third block keeps the first two
  auto hc = block_hashes(c, "", 16);
  CHECK(hc[0] == ha[0]);
  CHECK(hc[1] == ha[1]);
  CHECK(hc[2] != ha[2]);
  CHECK(block_hashes(a, "sql-lora", 16)[0] != ha[0]);  // an adapter's blocks are its own
  CHECK(block_hashes("short", "", 16).empty());
}

TEST_CASE("the byte tokenizer's blocks hash as vLLM would hash those token ids") {
  // "abcd" "efgh" read little-endian: [1684234849, 1751606885]; vLLM's sha256_cbor
  // with PYTHONHASHSEED=0 over that block (cbor2 in Python) gives this 64-bit hash.
  auto ids = ByteTokenizer().encode("abcdefgh");
  CHECK(ids == std::vector<uint32_t>{1684234849u, 1751606885u});
  CHECK(block_hashes("abcdefgh", "", 2) == std::vector<uint64_t>{15272784275509445403ULL});
  ringgate::kvevents::VllmBlockHasher hasher("0");
  PromptBlocks blocks = prompt_blocks(ByteTokenizer().encode("abcdefghij"), hasher, "", 2);
  CHECK(blocks.tokens == ids);  // the partial block's token is not part of any block
}

TEST_CASE("split_tokens cuts about four bytes and never inside a UTF-8 character") {
  auto t = split_tokens("hello world", 10);
  REQUIRE(t.size() == 3);
  CHECK(t[0] == "hell");
  CHECK(t[1] == "o wo");
  CHECK(t[2] == "rld");
  CHECK(split_tokens("hello world", 2).size() == 2);
  std::string utf8 = "abc\xC3\xA9xyz";  // "abcéxyz": é is two bytes at offsets 3-4
  auto u = split_tokens(utf8, 10);
  REQUIRE(u.size() == 2);
  CHECK(u[0] == "abc\xC3\xA9");
  CHECK(u[1] == "xyz");
}
