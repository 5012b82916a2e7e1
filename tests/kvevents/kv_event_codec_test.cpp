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
  std::string payload = unhex("92cb3ff00000000000009192ac426c6f636b52656d6f76656491c420") + digest;
  KvEventBatch out;
  REQUIRE(decode_kv_event_batch(payload, {}, out) == "");
  REQUIRE(out.events.size() == 1);
  CHECK(std::get<BlockRemoved>(out.events[0]).block_hashes == std::vector<uint64_t>{2164874634404590027ULL});
  // BlockStored with two trailing fields a newer release appends (lora_name, extra_keys).
  std::string stored = unhex(
      "93cb3ff00000000000009199ab426c6f636b53746f7265649101c0910701c0"
      "a3475055c0c000");
  REQUIRE(decode_kv_event_batch(stored, {}, out) == "");
  CHECK(std::get<BlockStored>(out.events[0]).block_hashes == std::vector<uint64_t>{1});
}

namespace {
// A batch of one BlockStored of `blocks` hashes whose field 8 (extra_keys) is `extra_hex`.
std::string stored_with_extra_keys(size_t blocks, std::string_view extra_hex) {
  std::string hashes(1, char(0x90 + blocks));
  for (size_t i = 0; i < blocks; ++i) hashes += char(i + 1);
  return unhex("92cb3ff00000000000009199ab426c6f636b53746f726564") + hashes + unhex("c09004c0a3475055a46c6f7261") +
         unhex(extra_hex);
}
}  // namespace

TEST_CASE(
    "extra_keys: per block, nil or a list of identifiers; legacy [identifier, offset] pairs read as the identifier") {
  KvEventBatch out;
  // [nil, ["lora", "img-a"], ["lora", ["img-b", 3]]]: 0.18's bare identifiers and the older pair.
  std::string payload = stored_with_extra_keys(3, "93c092a46c6f7261a5696d672d6192a46c6f726192a5696d672d6203");
  REQUIRE(decode_kv_event_batch(payload, {}, out) == "");
  const auto& e = std::get<BlockStored>(out.events[0]);
  CHECK(e.lora_name == "lora");
  REQUIRE(e.extra_keys.size() == 3);
  CHECK(e.extra_keys[0].empty());
  CHECK(e.extra_keys[1] == BlockExtraKeys{"lora", "img-a"});
  CHECK(e.extra_keys[2] == BlockExtraKeys{"lora", "img-b"});
  // Bytes (a prompt embedding's hash) are a key too.
  REQUIRE(decode_kv_event_batch(stored_with_extra_keys(1, "9191c403616263"), {}, out) == "");
  CHECK(std::get<BlockStored>(out.events[0]).extra_keys[0] == BlockExtraKeys{"abc"});
  // What the sim sends: lora_name and extra_keys written only when set, read back the same.
  KvEventBatch b;
  BlockStored s;
  s.block_hashes = {1, 2};
  s.token_ids = {5, 6};
  s.block_size = 1;
  s.medium = "GPU";
  s.extra_keys = {{}, {"0123456789abcdef"}};
  b.events.push_back(s);
  s.extra_keys.clear();
  s.lora_name = "sql";
  b.events.push_back(s);
  const std::string bytes = encode_kv_event_batch(b);
  // The first event: 9 fields, lora_name nil, extra_keys [nil, ["0123456789abcdef"]].
  CHECK(hex(bytes).find("99ab426c6f636b53746f726564") != std::string::npos);
  CHECK(hex(bytes).find("a3475055c092c091b0" + hex("0123456789abcdef")) != std::string::npos);
  // The second: 8 fields, ending with the name.
  CHECK(hex(bytes).find("98ab426c6f636b53746f726564") != std::string::npos);
  REQUIRE(decode_kv_event_batch(bytes, {}, out) == "");
  CHECK(out == b);
}

TEST_CASE("extra_keys bounds: keys per block, per event, bytes per key, entries per block hash, shapes") {
  KvEventBatch out;
  KvEventLimits limits;
  limits.max_extra_keys_per_block = 2;
  limits.max_extra_keys_per_event = 3;
  limits.max_extra_key_bytes = 5;
  // At each bound: accepted.
  CHECK(decode_kv_event_batch(stored_with_extra_keys(2, "9292a161a16291a56162636465"), limits, out) == "");
  // One past each.
  CHECK(decode_kv_event_batch(stored_with_extra_keys(1, "9193a161a162a163"), limits, out) ==
        "too many extra keys for one block");
  CHECK(decode_kv_event_batch(stored_with_extra_keys(2, "9292a161a16292a163a164"), limits, out) ==
        "too many extra keys in one event");
  CHECK(decode_kv_event_batch(stored_with_extra_keys(1, "9191a6616263646566"), limits, out) ==
        "an extra key is too long");
  CHECK(decode_kv_event_batch(stored_with_extra_keys(1, "919192a661626364656600"), limits, out) ==
        "an extra key is too long");
  // More entries than blocks; wrong shapes.
  CHECK(decode_kv_event_batch(stored_with_extra_keys(1, "92c0c0"), {}, out) ==
        "more extra_keys entries than block hashes");
  CHECK(decode_kv_event_batch(stored_with_extra_keys(1, "a178"), {}, out) == "extra_keys is not an array");
  CHECK(decode_kv_event_batch(stored_with_extra_keys(1, "9101"), {}, out) == "a block's extra keys are not an array");
  CHECK(decode_kv_event_batch(stored_with_extra_keys(1, "919101"), {}, out) == "an extra key is not a string");
  CHECK(decode_kv_event_batch(stored_with_extra_keys(1, "919193a1610102"), {}, out) ==
        "an extra key pair is not [identifier, offset]");
  CHECK(decode_kv_event_batch(stored_with_extra_keys(1, "91919201a161"), {}, out) ==
        "an extra key pair is not [identifier, offset]");
  // A key past the unpacker's string bound never reaches the reader.
  CHECK(decode_kv_event_batch(stored_with_extra_keys(1, "9191da0200" + std::string(1024, '6') + ""), {}, out) != "");
  // lora_name bounded as medium is.
  KvEventBatch named;
  BlockStored s;
  s.block_hashes = {1};
  s.block_size = 1;
  s.lora_name = std::string(257, 'x');
  named.events.push_back(s);
  CHECK(decode_kv_event_batch(encode_kv_event_batch(named), {}, out) != "");  // by the unpacker's string bound
  KvEventLimits wide;
  wide.max_extra_key_bytes = 1024;  // the unpacker lets it through: the reader refuses it
  CHECK(decode_kv_event_batch(encode_kv_event_batch(named), wide, out) == "lora_name is too long");
}

TEST_CASE("hostile payloads are refused with a reason, never trusted") {
  KvEventBatch out;
  KvEventLimits limits;
  CHECK(decode_kv_event_batch("", limits, out) != "");
  CHECK(decode_kv_event_batch(unhex("c1"), limits, out) != "");               // never-used byte
  CHECK(decode_kv_event_batch(unhex("90"), limits, out) != "");               // empty batch
  CHECK(decode_kv_event_batch(unhex("92a1789190"), limits, out) != "");       // ts not a number
  CHECK(decode_kv_event_batch(unhex("92cb3ff00000000000009191a3466f6f"), limits, out) != "");  // unknown tag
  // An array header claiming 2^32-1 elements in a 15-byte payload.
  CHECK(decode_kv_event_batch(unhex("92cb3ff0000000000000ddffffffff"), limits, out) != "");
  // A 33-byte hash.
  std::string long_hash = unhex("92cb3ff00000000000009192ac426c6f636b52656d6f76656491c421") + std::string(33, 'x');
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
