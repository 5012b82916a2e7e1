// A media part's identity (openai/media_hasher.h): the xxh3 of its decoded bytes (with
// its data: header), the same however the value is split, different for different
// images, and no hash at all for broken base64.
#include "ringgate/openai/media_hasher.h"

#include <doctest/doctest.h>

#include <random>
#include <string>

using namespace ringgate::openai;

namespace {

std::string base64(std::string_view raw, bool pad = true) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= raw.size(); i += 3) {
    const uint32_t v = uint32_t(uint8_t(raw[i])) << 16 | uint32_t(uint8_t(raw[i + 1])) << 8 | uint8_t(raw[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[v >> s & 63];
  }
  const size_t left = raw.size() - i;
  if (left > 0) {
    uint32_t v = uint32_t(uint8_t(raw[i])) << 16;
    if (left == 2) v |= uint32_t(uint8_t(raw[i + 1])) << 8;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    if (left == 2) out += kAlphabet[v >> 6 & 63];
    if (pad) out += left == 1 ? "==" : "=";
  }
  return out;
}

std::string bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = char(rng());
  return s;
}

std::optional<uint64_t> hash(std::string_view value, MediaKind kind = MediaKind::Image, bool bare = false,
                             size_t piece = 0) {
  MediaHasher h;
  h.reset(kind, bare);
  if (piece == 0) {
    h.feed(value);
  } else {
    for (size_t at = 0; at < value.size(); at += piece) h.feed(value.substr(at, piece));
  }
  return h.finish();
}

uint64_t expected(std::string_view header, std::string_view raw, MediaKind kind = MediaKind::Image) {
  const std::string all = std::string(header) + "," + std::string(raw);
  return XXH3_64bits_withSeed(all.data(), all.size(), uint64_t(kind));
}

}  // namespace

TEST_CASE("media hasher: a data URI hashes its decoded bytes, however it is split") {
  for (size_t n : {0, 1, 2, 3, 4, 5, 1000, 3071, 3072, 3073, 100'001}) {
    CAPTURE(n);
    const std::string raw = bytes(n, uint32_t(n));
    const std::string uri = "data:image/png;base64," + base64(raw);
    const uint64_t want = expected("image/png;base64", raw);
    CHECK(hash(uri) == want);
    for (size_t piece : {1, 2, 3, 7, 4096}) CHECK(hash(uri, MediaKind::Image, false, piece) == want);
    // Unpadded base64 is the same bytes.
    if (n > 0) CHECK(hash("data:image/png;base64," + base64(raw, false)) == want);
  }
  MediaHasher h;
  h.reset(MediaKind::Image, false);
  h.feed("data:image/png;base64," + base64(bytes(1000, 1)));
  REQUIRE(h.finish());
  CHECK(h.decoded_bytes() == 1000);
}

TEST_CASE("media hasher: different images, types, kinds and URLs never share a hash") {
  const std::string a = bytes(5000, 1), b = bytes(5000, 2);
  const auto ha = hash("data:image/png;base64," + base64(a));
  CHECK(ha != hash("data:image/png;base64," + base64(b)));
  CHECK(ha != hash("data:image/jpeg;base64," + base64(a)));
  // input_audio's bare base64: its own kind.
  CHECK(hash(base64(a), MediaKind::Audio, true) == XXH3_64bits_withSeed(a.data(), a.size(), uint64_t(MediaKind::Audio)));
  CHECK(hash(base64(a), MediaKind::Audio, true) != hash(base64(a), MediaKind::Image, true));
  // A remote URL: its text.
  const std::string url = "https://example.com/cat.png";
  CHECK(hash(url) == XXH3_64bits_withSeed(url.data(), url.size(), 1));
  CHECK(hash(url, MediaKind::Image, false, 1) == hash(url));
  CHECK(hash(url) != hash("https://example.com/dog.png"));
  CHECK(hash("dat") == XXH3_64bits_withSeed("dat", 3, 1));  // a prefix of "data:" is a URL too
  // A data URI that is not base64: its bytes as written.
  CHECK(hash("data:text/plain,hello%20there") == expected("text/plain", "hello%20there"));
}

TEST_CASE("media hasher: broken base64 or headers give no hash") {
  const std::string good = base64(bytes(10, 3));  // 16 chars, "==" padded
  CHECK(hash("data:image/png;base64," + good));
  CHECK_FALSE(hash("data:image/png;base64,AAA*AAAA"));          // a byte outside the alphabet
  CHECK_FALSE(hash("data:image/png;base64,AA==AAAA"));          // padding in the middle
  CHECK_FALSE(hash("data:image/png;base64,AAAAA"));             // one sextet left over
  CHECK_FALSE(hash("data:image/png;base64,A==="));              // too much padding
  CHECK_FALSE(hash("data:image/png;base64,AAA=="));             // padding past the quad
  CHECK_FALSE(hash("data:image/png;base64"));                   // no comma: no data
  CHECK_FALSE(hash("data:" + std::string(MediaHasher::kMaxHeaderBytes + 1, 'x') + ",AAAA"));
  CHECK(hash("data:" + std::string(MediaHasher::kMaxHeaderBytes - 7, 'x') + ";base64,AAAA"));
  CHECK_FALSE(hash(""));                                        // nothing at all
  CHECK_FALSE(hash("AA\nAA", MediaKind::Audio, true));          // a newline inside base64
}

TEST_CASE("media hasher: 20 MB of data URI in 16 KB receives, hashed once in constant memory") {
  const std::string raw = bytes(15 << 20, 9);  // 20 MB of base64
  const std::string uri = "data:image/webp;base64," + base64(raw);
  CHECK(uri.size() > 20'000'000);
  CHECK(hash(uri, MediaKind::Image, false, 16384) == expected("image/webp;base64", raw));
  CHECK(sizeof(MediaHasher) < 8192);
}

TEST_CASE("media hasher: the 16-at-a-time decoder hands every byte it cannot read to the bytewise one") {
  const std::string raw = bytes(30'000, 7);
  const std::string b64 = base64(raw);
  const uint64_t want = expected("image/png;base64", raw);
  // The URL-safe alphabet here and there: the vector loop refuses those 16, the bytewise loop reads them.
  std::string url_safe = b64;
  for (size_t i = 0; i < url_safe.size(); ++i) {
    if (url_safe[i] == '+') url_safe[i] = '-';
    if (url_safe[i] == '/' && i % 3 == 0) url_safe[i] = '_';
  }
  for (size_t piece : {size_t(0), size_t(5), size_t(17), size_t(4096)}) {
    CAPTURE(piece);
    CHECK(hash("data:image/png;base64," + url_safe, MediaKind::Image, false, piece) == want);
    // A bad byte at any place of a long run, and a byte >= 0x80, break it.
    for (size_t at : {size_t(0), size_t(15), size_t(16), size_t(4097), b64.size() - 3}) {
      CAPTURE(at);
      for (char bad : {'@', char(0xC3), ' ', '\0'}) {
        std::string broken = b64;
        broken[at] = bad;
        CHECK_FALSE(hash("data:image/png;base64," + broken, MediaKind::Image, false, piece).has_value());
      }
    }
  }
}
