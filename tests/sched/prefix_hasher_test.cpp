#include "ringgate/sched/prefix_hasher.h"

#include <doctest/doctest.h>
#include <xxhash.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace ringgate::sched;

namespace {
std::vector<uint64_t> hashes(const PrefixHasher& h, std::string_view model, std::vector<std::string_view> parts) {
  std::vector<uint64_t> out;
  h.hash(model, parts, out);
  return out;
}
}  // namespace

TEST_CASE("hasher: block count includes the separators and the partial tail") {
  PrefixHasher h(64);
  std::vector<std::string_view> one{std::string_view("x")};
  CHECK(h.block_count(one) == 1);
  std::string s63(63, 'a'), s64(64, 'a');
  CHECK(h.block_count(std::vector<std::string_view>{s63}) == 1);  // 63 + 0xFF = 64
  CHECK(h.block_count(std::vector<std::string_view>{s64}) == 2);
  CHECK(hashes(h, "m", {s64}).size() == 2);
  CHECK(hashes(h, "m", {}).empty());
}

TEST_CASE("hasher: deterministic, seeded by model, and part boundaries matter") {
  PrefixHasher h(8);
  CHECK(hashes(h, "m", {"hello world"}) == hashes(h, "m", {"hello world"}));
  CHECK(hashes(h, "m", {"hello world"}) != hashes(h, "n", {"hello world"}));
  CHECK(hashes(h, "m", {"ab", "c"}) != hashes(h, "m", {"a", "bc"}));
  CHECK(hashes(h, "m", {"user", "hi"}) != hashes(h, "m", {"userhi"}));
  CHECK(hashes(h, "m", {"user", "hi", "assistant", "x"}) != hashes(h, "m", {"assistant", "hi", "user", "x"}));
}

TEST_CASE("hasher: a conversation extended by a message keeps every earlier block") {
  PrefixHasher h(16);
  std::string system(200, 's');
  auto turn1 = hashes(h, "m", {"system", system, "user", "what is a KV cache?"});
  auto turn2 =
      hashes(h, "m", {"system", system, "user", "what is a KV cache?", "assistant", "it is...", "user", "and?"});
  size_t full_blocks_turn1 = (6 + 1 + 200 + 1 + 4 + 1 + 19 + 1) / 16;  // blocks entirely inside turn1
  REQUIRE(turn2.size() > turn1.size());
  CHECK(std::equal(turn1.begin(), turn1.begin() + full_blocks_turn1, turn2.begin()));
  // A different user question shares the system prompt's blocks but not the tail.
  auto other = hashes(h, "m", {"system", system, "user", "something else entirely"});
  CHECK(other[0] == turn1[0]);
  CHECK(other.back() != turn1.back());
}

namespace {
// The design's definition, written out independently of PrefixHasher's in-place
// walk: join the parts with a 0xFF after each, cut into blocks of B bytes (the
// last one partial), c(-1) = 0,
// ci = fold((c(i-1) ^ A) * (xxh3(blocki) ^ B)) ^ rotl(c(i-1), 29) (fold: the 128-bit
// product's halves xored), hi = xxh3(ci, seed = xxh3(model)), every hash of the leading
// 64 blocks, then every 4th up to block 128, every 8th up to 256, every 16th up to
// 512, ...
std::vector<uint64_t> reference_hashes(size_t block_bytes, std::string_view model,
                                       const std::vector<std::string_view>& parts) {
  std::string joined;
  for (std::string_view p : parts) {
    joined.append(p);
    joined.push_back(char(0xFF));
  }
  std::vector<uint64_t> out;
  const uint64_t model_seed = XXH3_64bits(model.data(), model.size());
  uint64_t seed = 0;
  for (size_t at = 0; at < joined.size(); at += block_bytes) {
    size_t len = std::min(block_bytes, joined.size() - at);
    const unsigned __int128 product = (unsigned __int128)(seed ^ 0x9E3779B97F4A7C15ULL) *
                                      (XXH3_64bits(joined.data() + at, len) ^ 0xC2B2AE3D27D4EB4FULL);
    seed = uint64_t(product) ^ uint64_t(product >> 64) ^ ((seed << 29) | (seed >> 35));
    // Past the dense lead only the last hash of each stride is kept (see kDensePrefixBlocks).
    const size_t blocks = at / block_bytes + 1;
    size_t octave_end = 64, stride = 1;
    while (blocks > octave_end) {
      stride = stride == 1 ? 4 : stride * 2;
      octave_end *= 2;
    }
    if (stride == 1 || (octave_end - blocks) % stride == 0) out.push_back(XXH3_64bits_withSeed(&seed, sizeof seed, model_seed));
  }
  return out;
}
}  // namespace

TEST_CASE("hasher: equal to the reference chain, whatever the block size and however the parts straddle blocks") {
  std::string text(300, 'a');
  for (size_t i = 0; i < text.size(); ++i) text[i] = char('a' + (i * 11) % 26);
  const std::string_view t(text);
  const std::vector<std::vector<std::string_view>> splits{
      {t},
      {t.substr(0, 3), t.substr(3)},
      {t.substr(0, 63), t.substr(63, 1), t.substr(64)},
      {"system", t.substr(0, 200), "user", t.substr(200), "", "x"},
      {""},
  };
  for (size_t block : {1u, 4u, 7u, 16u, 64u, 4096u}) {
    PrefixHasher h(block);
    for (const auto& parts : splits) {
      CAPTURE(block);
      CAPTURE(parts.size());
      CHECK(hashes(h, "facebook/opt-125m", parts) == reference_hashes(block, "facebook/opt-125m", parts));
    }
  }
  // Deep prompts: the sampling octaves (block 1: 9000 blocks reach the sixth).
  std::string deep(9000, 'a');
  for (size_t i = 0; i < deep.size(); ++i) deep[i] = char('a' + (i * 7) % 26);
  PrefixHasher h1(1);
  CHECK(hashes(h1, "m", {deep}) == reference_hashes(1, "m", {deep}));
  CHECK(hashes(h1, "m", {deep.substr(0, 4000), deep.substr(4000)}) == reference_hashes(1, "m", {deep.substr(0, 4000), deep.substr(4000)}));
  // A block assembled from two parts ("ab" 0xFF "c" | "def" 0xFF) hashes like the
  // same bytes given as one part: the layout is the joined stream's.
  PrefixHasher h4(4);
  std::string joined = std::string("ab") + char(0xFF) + "cdef";
  CHECK(hashes(h4, "m", {"ab", "cdef"}) == hashes(h4, "m", {std::string_view(joined)}));
  CHECK(hashes(h4, "m", {"ab", "cdef"}) == reference_hashes(4, "m", {"ab", "cdef"}));
}

TEST_CASE("hasher: span output caps the hashed length") {
  PrefixHasher h(8);
  std::string text(100, 'x');
  std::vector<std::string_view> parts{text};
  uint64_t out[3];
  CHECK(h.hash("m", parts, std::span<uint64_t>(out, 3)) == 3);
  auto all = hashes(h, "m", {text});
  CHECK(all.size() == 13);
  CHECK(std::equal(out, out + 3, all.begin()));
  CHECK(h.hash("m", parts, std::span<uint64_t>()) == 0);
}

TEST_CASE("hasher: the vector overload reuses capacity") {
  PrefixHasher h(64);
  std::vector<uint64_t> out;
  std::string big(64 * 100, 'y'), small(64 * 10, 'y');
  h.hash("m", std::vector<std::string_view>{big}, out);
  const uint64_t* data = out.data();
  h.hash("m", std::vector<std::string_view>{small}, out);
  CHECK(out.data() == data);
  CHECK(out.size() == 11);
}

TEST_CASE("hasher: only the leading max_blocks blocks, equal to an uncapped chain's") {
  std::string big(64 * 100, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = char('a' + (i * 7) % 26);
  std::vector<std::string_view> parts{big};
  PrefixHasher capped(64, 10), full(64, 1000);
  CHECK(capped.block_count(parts) == 10);
  CHECK(full.block_count(parts) == 73);  // 6400 bytes + the 0xFF terminator: 101 blocks, 64 + 37 / 4 entries
  std::vector<uint64_t> a, b;
  capped.hash("m", parts, a);
  full.hash("m", parts, b);
  REQUIRE(a.size() == 10);
  REQUIRE(b.size() == 73);
  CHECK(std::equal(a.begin(), a.end(), b.begin()));
  CHECK(PrefixHasher().max_blocks() == kDefaultMaxPrefixBlocks);
}

TEST_CASE("hasher: the chain fed while the body arrives gives hash()'s keys, however the text is cut") {
  // 40 KB: past the dense lead at 64-byte blocks too, so sampled entries come from
  // runs of whole blocks (PrefixChain's in-place loop) as well as from the carry.
  std::string text(40000, 'a');
  for (size_t i = 0; i < text.size(); ++i) text[i] = char('a' + (i * 7) % 26);
  const std::string_view t(text);
  const std::vector<std::string_view> parts{"system", t.substr(0, 3000), "user", t.substr(3000), ""};
  for (size_t block : {1u, 7u, 64u, 4096u}) {
    PrefixHasher h(block);
    const auto expected = hashes(h, "m", parts);
    for (size_t piece : {1u, 3u, 63u, 64u, 65u, 1000u, 100000u}) {
      CAPTURE(block);
      CAPTURE(piece);
      PrefixChain chain(block);
      chain.reset(0);
      for (std::string_view p : parts) {
        for (size_t at = 0; at < p.size(); at += piece) chain.append(p.data() + at, std::min(piece, p.size() - at));
        chain.end_part();
      }
      chain.finish();
      std::vector<uint64_t> keys;
      PrefixHasher::keys("m", chain.entries(), keys);
      CHECK(keys == expected);
      PrefixHasher::keys("n", chain.entries(), keys);
      CHECK(keys != expected);  // the model is in every key
    }
  }
  // The block cap bounds the chain as it bounds hash().
  PrefixHasher capped(8, 300);
  PrefixChain chain(8, 300);
  chain.reset(text.size());
  chain.append(text.data(), text.size());
  chain.end_part();
  chain.finish();
  std::vector<uint64_t> keys;
  PrefixHasher::keys("m", chain.entries(), keys);
  CHECK(keys == hashes(capped, "m", {t}));
  CHECK(keys.size() == entries_for_blocks(300));
}

TEST_CASE("sampling: entries_for_blocks counts emitted blocks, covered_blocks maps entries back to the last one") {
  CHECK(entries_for_blocks(64) == 64);
  CHECK(entries_for_blocks(65) == 64);
  CHECK(entries_for_blocks(67) == 64);
  CHECK(entries_for_blocks(68) == 65);
  CHECK(entries_for_blocks(128) == 80);
  CHECK(entries_for_blocks(135) == 80);
  CHECK(entries_for_blocks(136) == 81);
  CHECK(entries_for_blocks(6400) == 64 + 6 * 16 + (6400 - 4096) / 256);  // 400 KB at 64-byte blocks: 169
  size_t entries = 0, last_emitted = 0;
  for (size_t n = 1; n <= 40000; ++n) {
    if (emits_entry(n)) {
      ++entries;
      last_emitted = n;
    }
    REQUIRE(entries_for_blocks(n) == entries);
    REQUIRE(covered_blocks(entries) == last_emitted);
    REQUIRE(n - last_emitted < sample_stride(n));
    REQUIRE(sample_stride(n) * 16 <= std::max<size_t>(n, 64));  // within 1/16 of the depth
  }
}
