#include <doctest/doctest.h>

#include <string>

#include "ringgate/kvevents/kv_event.h"

using namespace ringgate::kvevents;

namespace {
std::string unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out += char(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
  return out;
}
std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (unsigned char b : bytes) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}
KvEventBatch sample() {
  KvEventBatch b;
  b.ts = 1700000000.5;
  BlockStored stored;
  stored.block_hashes = {2164874634404590027ULL, 17270480062156288726ULL};
  stored.token_ids = {1, 2, 3, 4, 5, 6, 7, 8};
  stored.block_size = 4;
  stored.medium = "GPU";
  b.events.emplace_back(std::move(stored));
  BlockRemoved removed;
  removed.block_hashes = {2164874634404590027ULL};
  removed.medium = "GPU";
  b.events.emplace_back(std::move(removed));
  b.events.emplace_back(AllBlocksCleared{});
  b.data_parallel_rank = 0;
  return b;
}
// msgpack.packb([1700000000.5, [["BlockStored", [..], None, [1..8], 4, None, "GPU"],
// ["BlockRemoved", [..], "GPU"], ["AllBlocksCleared"]], 0], use_bin_type=True): the bytes
// msgspec's encoder gives for vLLM's array_like, tagged structs.
constexpr std::string_view kSampleHex =
    "93cb41d954fc402000009397ab426c6f636b53746f72656492cf1e0b2e028ef071cbcfefad121d154ab2d6c0980102030405060708"
    "04c0a347505593ac426c6f636b52656d6f76656491cf1e0b2e028ef071cba347505591b0416c6c426c6f636b73436c656172656400";
}  // namespace

TEST_CASE("encode gives the bytes vLLM's publisher sends") {
  CHECK(hex(encode_kv_event_batch(sample())) == kSampleHex);
}

TEST_CASE("decode(encode(x)) == x") {
  KvEventBatch out;
  REQUIRE(decode_kv_event_batch(encode_kv_event_batch(sample()), {}, out) == "");
  CHECK(out == sample());
  KvEventBatch lora;
  lora.ts = 1;
  lora.events.push_back(BlockStored{{1}, 99, {7}, 1, 3, std::nullopt});
  REQUIRE(decode_kv_event_batch(encode_kv_event_batch(lora), {}, out) == "");
  CHECK(out == lora);
  CHECK(!out.data_parallel_rank);
  // msgpack-c packs an integral double as an integer; a negative one must read back too
  // (found by fuzz_kv_event_batch).
  for (double ts : {-262144.0, -2.8e18, 0.0}) {
    CAPTURE(ts);
    lora.ts = ts;
    REQUIRE(decode_kv_event_batch(encode_kv_event_batch(lora), {}, out) == "");
    CHECK(out.ts == ts);
  }
}

TEST_CASE("hashes as 32 bytes fold to the integer form; older and newer field counts are read") {
  // ["BlockRemoved", [bin32]] (no medium, vLLM 0.9 shape) in a 2-element batch.
  std::string digest = unhex("c9d58ba695280d69b243e1e0df813136ca9196b286fb1a021e0b2e028ef071cb");
  std::string payload = unhex("92cb3ff0000000000000" "91" "92" "ac426c6f636b52656d6f766564" "91" "c420") + digest;
  KvEventBatch out;
  REQUIRE(decode_kv_event_batch(payload, {}, out) == "");
  REQUIRE(out.events.size() == 1);
  CHECK(std::get<BlockRemoved>(out.events[0]).block_hashes == std::vector<uint64_t>{2164874634404590027ULL});
  // BlockStored with two trailing fields a newer release appends (lora_name, extra_keys).
  std::string stored = unhex("93cb3ff0000000000000" "91" "99" "ab426c6f636b53746f726564" "9101" "c0" "9107" "01" "c0"
                             "a3475055" "c0" "c0" "00");
  REQUIRE(decode_kv_event_batch(stored, {}, out) == "");
  CHECK(std::get<BlockStored>(out.events[0]).block_hashes == std::vector<uint64_t>{1});
}

TEST_CASE("hostile payloads are refused with a reason, never trusted") {
  KvEventBatch out;
  KvEventLimits limits;
  CHECK(decode_kv_event_batch("", limits, out) != "");
  CHECK(decode_kv_event_batch(unhex("c1"), limits, out) != "");               // never-used byte
  CHECK(decode_kv_event_batch(unhex("90"), limits, out) != "");               // empty batch
  CHECK(decode_kv_event_batch(unhex("92a1789190"), limits, out) != "");       // ts not a number
  CHECK(decode_kv_event_batch(unhex("92cb3ff000000000000091" "91a3466f6f"), limits, out) != "");  // unknown tag
  // An array header claiming 2^32-1 elements in a 15-byte payload.
  CHECK(decode_kv_event_batch(unhex("92cb3ff0000000000000ddffffffff"), limits, out) != "");
  // A 33-byte hash.
  std::string long_hash = unhex("92cb3ff0000000000000" "91" "92" "ac426c6f636b52656d6f766564" "91" "c421") +
                          std::string(33, 'x');
  CHECK(decode_kv_event_batch(long_hash, limits, out) != "");
  // Counts over the configured bounds.
  KvEventBatch many;
  many.events.assign(5, AllBlocksCleared{});
  limits.max_events = 4;
  CHECK(decode_kv_event_batch(encode_kv_event_batch(many), limits, out) == "too many events in one batch");
  limits = {};
  limits.max_payload_bytes = 8;
  CHECK(decode_kv_event_batch(encode_kv_event_batch(sample()), limits, out) == "payload too large");
  // Trailing garbage and deep nesting.
  CHECK(decode_kv_event_batch(encode_kv_event_batch(sample()) + "x", {}, out) != "");
  CHECK(decode_kv_event_batch(std::string(100, char(0x91)), {}, out) != "");
}
