// Block hashes against vectors computed with vLLM's own recipe in Python:
// hashlib.sha256(cbor2.dumps((parent, tuple(tokens), extra_keys), canonical=True)),
// NONE_HASH = sha256(cbor2.dumps(PYTHONHASHSEED)) (cbor2 5.4.6, Debian 12).
#include <doctest/doctest.h>

#include <string>

#include "ringgate/kvevents/cbor_writer.h"
#include "ringgate/kvevents/block_hash_memo.h"
#include "ringgate/kvevents/vllm_block_hash.h"

using namespace ringgate::kvevents;

namespace {
std::string hex(const BlockDigest& d) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}
std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (unsigned char b : bytes) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}
}  // namespace

TEST_CASE("canonical CBOR: shortest integer forms, strings, arrays, null") {
  CborWriter w;
  w.unsigned_int(23);
  w.unsigned_int(24);
  w.unsigned_int(255);
  w.unsigned_int(256);
  w.unsigned_int(65536);
  w.unsigned_int(4294967296ULL);
  w.signed_int(-1);
  w.signed_int(-25);
  CHECK(hex(w.data()) == "171818" "18ff" "190100" "1a00010000" "1b0000000100000000" "20" "3818");
  w.clear();
  w.array_header(3);
  w.text("0");
  const uint8_t raw[2] = {0xab, 0xcd};
  w.bytes(raw);
  w.null();
  CHECK(hex(w.data()) == "83" "6130" "42abcd" "f6");
}

TEST_CASE("NONE_HASH is sha256 of the CBOR text PYTHONHASHSEED") {
  CHECK(hex(VllmBlockHasher("0").none_hash()) == "4e1195df020de59e0d65a33a4279f1183e7ae4e5d980e309f8b55adff2e61c3e");
  CHECK(hex(VllmBlockHasher("42").none_hash()) == "9fa6eb003f14425eb9c8e6baacfbcaab26257357b829c7bfa74ffcc4f31c1780");
}

TEST_CASE("chained block hashes equal vLLM's sha256_cbor on fixed vectors") {
  VllmBlockHasher hasher("0");
  const uint32_t t0[] = {1, 2, 3, 4};
  const uint32_t t1[] = {5, 6, 7, 8};
  BlockDigest b0 = hasher.hash_block(nullptr, t0, "");
  CHECK(hex(b0) == "c9d58ba695280d69b243e1e0df813136ca9196b286fb1a021e0b2e028ef071cb");
  BlockDigest b1 = hasher.hash_block(&b0, t1, "");
  CHECK(hex(b1) == "24125b23e68883b5c2141db2959d48433fe6bde2f26bd914efad121d154ab2d6");
  // The event form: the low 64 bits (last 8 bytes, big-endian).
  CHECK(external_block_hash(b0) == 2164874634404590027ULL);
  CHECK(external_block_hash(b1) == 17270480062156288726ULL);

  std::vector<uint64_t> chain;
  const uint32_t prompt[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};  // the 9th token is a partial block: not hashed
  hasher.hash_prompt(prompt, 4, "", chain);
  CHECK(chain == std::vector<uint64_t>{2164874634404590027ULL, 17270480062156288726ULL});
  chain.clear();
  hasher.hash_prompt(prompt, 4, "", chain, 1);
  CHECK(chain.size() == 1);
}

TEST_CASE("LoRA requests hash with extra_keys (lora_name,); large token ids use longer CBOR heads") {
  VllmBlockHasher hasher("0");
  const uint32_t t0[] = {1, 2, 3, 4};
  CHECK(external_block_hash(hasher.hash_block(nullptr, t0, "sql-lora")) == 11329364245149159156ULL);
  const uint32_t big[] = {0, 23, 24, 255, 256, 65535, 65536, 4294967295u};
  CHECK(external_block_hash(hasher.hash_block(nullptr, big, "")) == 2746243798651614188ULL);
}

TEST_CASE("a different seed gives different hashes") {
  const uint32_t t0[] = {1, 2, 3, 4};
  CHECK(VllmBlockHasher("1").hash_block(nullptr, t0, "") != VllmBlockHasher("0").hash_block(nullptr, t0, ""));
}

TEST_CASE("the block-hash memo: what the hasher gives, from the memo for a sequence hashed before") {
  VllmBlockHasher hasher("0");
  BlockHashMemo memo(hasher, 16, 1u << 20);
  std::vector<uint32_t> a(4000), b(4000);
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = uint32_t(i * 7919 % 128000);
    b[i] = a[i];
  }
  b[3000] += 1;  // the same first 187 blocks, then different
  const auto direct = [&](const std::vector<uint32_t>& t, std::string_view lora) {
    std::vector<uint64_t> out;
    hasher.hash_prompt(t, 16, lora, out);
    return out;
  };
  const auto memoised = [&](const std::vector<uint32_t>& t, std::string_view lora) {
    std::vector<uint64_t> out{42};  // appended to, as hash_prompt does
    memo.hash_prompt(t, lora, out);
    CHECK(out[0] == 42);
    return std::vector<uint64_t>(out.begin() + 1, out.end());
  };
  CHECK(memoised(a, "") == direct(a, ""));
  CHECK(memo.hits() == 0);
  CHECK(memoised(a, "") == direct(a, ""));
  CHECK(memo.hits() == 1);
  CHECK(memoised(b, "") == direct(b, ""));      // other ids: hashed
  CHECK(memoised(a, "sql") == direct(a, "sql"));  // another adapter: hashed
  CHECK(memo.hits() == 1);
  CHECK(memo.entries() == 3);
  CHECK(direct(a, "")[186] == direct(b, "")[186]);
  CHECK(direct(a, "")[187] != direct(b, "")[187]);
  // Short sequences are hashed every time, never kept.
  const std::vector<uint32_t> short_ids(a.begin(), a.begin() + 100);
  CHECK(memoised(short_ids, "") == direct(short_ids, ""));
  CHECK(memo.entries() == 3);
  // Bounded: a memo with room for one entry keeps the last.
  BlockHashMemo small(hasher, 16, ringgate::util::BoundedLru<uint64_t>::cost(250));
  std::vector<uint64_t> out;
  small.hash_prompt(a, "", out);
  small.hash_prompt(b, "", out);
  CHECK(small.entries() == 1);
  small.hash_prompt(b, "", out);
  CHECK(small.hits() == 1);
}

// Computed with vLLM's recipe in Python: extra_keys = tuple([lora_name] + [identifier of every
// media run overlapping the block]) or None, a canonical-CBOR encoder written for the test
// (it gives the vectors above for the blocks they share).
TEST_CASE("media runs: each overlapped block's extra keys carry the run's identifier, after the LoRA name") {
  VllmBlockHasher hasher("0");
  constexpr uint32_t kP = 0xABCD;  // a placeholder token: the same for every item
  const uint32_t prompt[] = {1, 2, 3, 4, 5, 6, kP, kP, kP, kP, kP, kP, kP, kP, kP, 9};
  const std::vector<MediaPlaceholder> media = {{6, 7, "img-a"}, {13, 2, "aud-b"}};
  std::vector<uint64_t> chain;
  std::vector<BlockExtraKeys> keys;
  hasher.hash_prompt(prompt, 4, "", media, chain, SIZE_MAX, &keys);
  CHECK(chain == std::vector<uint64_t>{2164874634404590027ULL, 15515574948869807215ULL, 5020072932271906589ULL,
                                       16849070787063733198ULL});
  CHECK(keys == std::vector<BlockExtraKeys>{{}, {"img-a"}, {"img-a"}, {"img-a", "aud-b"}});
  chain.clear();
  keys.clear();
  hasher.hash_prompt(prompt, 4, "sql-lora", media, chain, SIZE_MAX, &keys);
  CHECK(chain == std::vector<uint64_t>{11329364245149159156ULL, 4493778235372204923ULL, 6773047580174711ULL,
                                       147482850695674035ULL});
  CHECK(keys[0] == BlockExtraKeys{"sql-lora"});
  CHECK(keys[3] == BlockExtraKeys{"sql-lora", "img-a", "aud-b"});
  // Without the runs the same ids hash as text: the blocks before the first run agree.
  chain.clear();
  hasher.hash_prompt(prompt, 4, "", chain);
  CHECK(chain == std::vector<uint64_t>{2164874634404590027ULL, 9329717162326743053ULL, 1115589599508660308ULL,
                                       7459632501838735327ULL});
}

TEST_CASE("media runs: the same item gives the same chain, another differs from its first block on") {
  VllmBlockHasher hasher("0");
  std::vector<uint32_t> prompt(64, 7);
  for (uint32_t i = 20; i < 40; ++i) prompt[i] = 0xFE01FE01u;
  auto chain_of = [&](std::string id) {
    std::vector<uint64_t> out;
    const MediaPlaceholder m{20, 20, std::move(id)};
    hasher.hash_prompt(prompt, 16, "", std::span(&m, 1), out);
    return out;
  };
  const std::vector<uint64_t> a = chain_of("a"), a2 = chain_of("a"), b = chain_of("b");
  REQUIRE(a.size() == 4);
  CHECK(a == a2);
  CHECK(a[0] == b[0]);                                 // [0,16): text before the run
  for (size_t i = 1; i < 4; ++i) CHECK(a[i] != b[i]);  // [16,32) holds the run's start; the rest chain on
}

TEST_CASE("block_extra_keys: overlap at the run's edges, several runs in one block, runs past the block") {
  const std::vector<MediaPlaceholder> media = {{4, 4, "x"}, {8, 1, "y"}, {9, 10, "z"}};
  std::vector<std::string_view> out;
  size_t next = 0;
  block_extra_keys(0, 4, "", media, next, out);  // ends where x starts
  CHECK(out.empty());
  CHECK(next == 0);
  block_extra_keys(4, 8, "", media, next, out);  // exactly x
  CHECK(out == std::vector<std::string_view>{"x"});
  CHECK(next == 1);
  block_extra_keys(8, 12, "l", media, next, out);  // y whole, z begun
  CHECK(out == std::vector<std::string_view>{"l", "y", "z"});
  CHECK(next == 2);
  block_extra_keys(12, 16, "", media, next, out);  // inside z
  CHECK(out == std::vector<std::string_view>{"z"});
  block_extra_keys(16, 20, "", media, next, out);  // z's end
  CHECK(out == std::vector<std::string_view>{"z"});
  CHECK(next == 3);
  block_extra_keys(20, 24, "", media, next, out);
  CHECK(out.empty());
}

TEST_CASE("the block-hash memo keys a sequence with its media runs") {
  VllmBlockHasher hasher("0");
  BlockHashMemo memo(hasher, 16, 1u << 20);
  std::vector<uint32_t> t(kMinMemoTokens + 16, 5);
  const std::vector<MediaPlaceholder> a = {{100, 50, "a"}}, b = {{100, 50, "b"}}, moved = {{116, 50, "a"}};
  for (const auto* m : {&a, &b, &moved, &a}) {
    std::vector<uint64_t> direct, memoized;
    hasher.hash_prompt(t, 16, "", *m, direct);
    memo.hash_prompt(t, "", *m, memoized);
    CHECK(memoized == direct);
  }
  CHECK(memo.hits() == 1);  // only the last, a again
}
