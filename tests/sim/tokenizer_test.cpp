#include "ringgate/sim/tokenizer.h"

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

TEST_CASE("block hashes cover full blocks only and chain over the whole prefix") {
  std::string a(16 * 4 * 3 + 10, 'a');  // 3 full blocks of 16 tokens and a partial one
  auto ha = block_hashes(a, "m", 16);
  CHECK(ha.size() == 3);
  std::string b = a;
  b[0] = 'b';  // a different first block changes every later hash
  auto hb = block_hashes(b, "m", 16);
  REQUIRE(hb.size() == 3);
  for (size_t i = 0; i < 3; ++i) CHECK(ha[i] != hb[i]);
  std::string c = a;
  c[16 * 4 * 2] = 'c';  // a change in the third block keeps the first two
  auto hc = block_hashes(c, "m", 16);
  CHECK(hc[0] == ha[0]);
  CHECK(hc[1] == ha[1]);
  CHECK(hc[2] != ha[2]);
  CHECK(block_hashes(a, "other-model", 16)[0] != ha[0]);
  CHECK(block_hashes("short", "m", 16).empty());
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
