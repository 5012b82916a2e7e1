// The token cache: exact texts only, short texts never, bounded by bytes with the least
// recently used entry out first, and nothing at all when its bound is 0.
#include "ringgate/openai/token_cache.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using ringgate::openai::kMinCachedTextBytes;
using ringgate::openai::TokenCache;

namespace {
std::string text_of(char c, size_t n = kMinCachedTextBytes) { return std::string(n, c); }
}  // namespace

TEST_CASE("token cache: a text seen before gives its ids back; another text, or the other special-token mode, does not") {
  TokenCache cache(1u << 20);
  std::vector<uint32_t> ids{7};
  CHECK_FALSE(cache.find(text_of('a'), true, ids));
  CHECK(ids == std::vector<uint32_t>{7});  // untouched on a miss
  cache.insert(text_of('a'), true, std::vector<uint32_t>{1, 2, 3});
  REQUIRE(cache.find(text_of('a'), true, ids));
  CHECK(ids == std::vector<uint32_t>{1, 2, 3});
  CHECK_FALSE(cache.find(text_of('a'), false, ids));
  CHECK_FALSE(cache.find(text_of('a') + "b", true, ids));
  std::string changed = text_of('a');
  changed[kMinCachedTextBytes / 2] = 'b';
  CHECK_FALSE(cache.find(changed, true, ids));
  const auto s = cache.stats();
  CHECK(s.hits == 1);
  CHECK(s.misses == 4);
  CHECK(s.entries == 1);
  CHECK(s.bytes > 0);
}

TEST_CASE("token cache: texts under 4 KiB are not kept; a bound of 0 keeps nothing") {
  TokenCache cache(1u << 20);
  std::vector<uint32_t> ids;
  cache.insert(text_of('s', kMinCachedTextBytes - 1), false, std::vector<uint32_t>{1});
  CHECK_FALSE(cache.find(text_of('s', kMinCachedTextBytes - 1), false, ids));
  TokenCache off(0);
  off.insert(text_of('a'), false, std::vector<uint32_t>{1});
  CHECK_FALSE(off.find(text_of('a'), false, ids));
  CHECK(off.stats().entries == 0);
}

TEST_CASE("token cache: bounded by bytes, the least recently used out first") {
  // 8 shards of 64 KiB: a shard holds a few entries of 4096 ids (16 KiB + overhead).
  TokenCache cache(512u << 10);
  const std::vector<uint32_t> ids(4096, 5);
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) texts.push_back(std::to_string(i) + text_of('x'));
  std::vector<uint32_t> out;
  for (size_t i = 0; i < texts.size(); ++i) {
    cache.insert(texts[i], false, ids);
    REQUIRE(cache.find(texts[0], false, out));  // the first stays in use: never the oldest
  }
  const auto s = cache.stats();
  CHECK(s.bytes <= cache.max_bytes());
  CHECK(s.entries < texts.size());
  CHECK(s.entries >= 16);
  CHECK(cache.find(texts[0], false, out));
  CHECK(cache.find(texts.back(), false, out));
  size_t kept = 0;
  for (const std::string& t : texts) kept += cache.find(t, false, out);
  CHECK(kept == s.entries);
  // Ids larger than a shard's share are not kept at all.
  cache.insert(text_of('z'), false, std::vector<uint32_t>(64u << 10, 1));
  CHECK_FALSE(cache.find(text_of('z'), false, out));
}
