// vLLM's KV-cache events (vllm/distributed/kv_events.py, vLLM 0.12) as plain
// data, and their wire form: a KVEventBatch encoded by msgspec's msgpack
// encoder, every struct array-like (fields in declaration order) and each
// event tagged by its class name as the array's first element:
//
//   [ts: float64, [event, ...], data_parallel_rank: int]
//   ["BlockStored", [hash, ...], parent_hash | nil, [token id, ...], block_size, lora_id | nil, medium | nil,
//    lora_name | nil, extra_keys | nil, ...]   (the last two and what follows: later releases)
//   ["BlockRemoved", [hash, ...], medium | nil]
//   ["AllBlocksCleared"]
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ringgate::kvevents {

inline constexpr std::string_view kMediumGpu = "GPU";
inline constexpr std::string_view kMediumCpu = "CPU";  // vLLM's OffloadingConnector CPU tier

// One block's extra_keys as vLLM hashed them (generate_block_hash_extra_keys): the LoRA
// name, the identifier of every media item the block overlaps (mm_hash, or the uuid the
// client gave), the cache salt (first block only). vLLM 0.18+ sends each media item as its
// identifier; older releases as an [identifier, offset] pair, read here as the identifier.
// Empty: null (a pure-text block without LoRA).
using BlockExtraKeys = std::vector<std::string>;

struct BlockStored {
  std::vector<uint64_t> block_hashes;
  std::optional<uint64_t> parent_block_hash;
  std::vector<uint32_t> token_ids;
  uint32_t block_size = 0;
  std::optional<int64_t> lora_id;
  std::optional<std::string> medium;
  std::optional<std::string> lora_name;
  // One entry per block of block_hashes, in order; empty: null (none sent).
  std::vector<BlockExtraKeys> extra_keys;
  bool operator==(const BlockStored&) const = default;
};

struct BlockRemoved {
  std::vector<uint64_t> block_hashes;
  std::optional<std::string> medium;
  bool operator==(const BlockRemoved&) const = default;
};

struct AllBlocksCleared {
  bool operator==(const AllBlocksCleared&) const = default;
};

using KvEvent = std::variant<BlockStored, BlockRemoved, AllBlocksCleared>;

struct KvEventBatch {
  double ts = 0;  // unix seconds
  std::vector<KvEvent> events;
  std::optional<int64_t> data_parallel_rank;
  bool operator==(const KvEventBatch&) const = default;
};

// Bounds on what a decoder accepts from a model server.
struct KvEventLimits {
  size_t max_payload_bytes = 8u << 20;
  size_t max_events = 1u << 16;           // per batch
  size_t max_hashes_per_event = 1u << 16;
  size_t max_tokens_per_event = 1u << 21;
  size_t max_hash_bytes = 32;             // a sha256 digest sent as bytes
  size_t max_string_bytes = 256;          // medium, tags, lora_name
  size_t max_extra_keys_per_block = 64;   // a block's LoRA name, media identifiers and salt
  size_t max_extra_keys_per_event = 1u << 17;
  size_t max_extra_key_bytes = 256;  // one identifier (a 64-hex mm_hash, a client's uuid)
};

// msgpack bytes of `batch`, as vLLM's publisher sends them.
std::string encode_kv_event_batch(const KvEventBatch& batch);

// Parses a payload into `out`. Returns "" or why it was refused. Hashes sent
// as bytes (VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES=0) are folded to the same 64
// bits the integer form carries; fields newer vLLM releases append are skipped.
std::string decode_kv_event_batch(std::string_view payload, const KvEventLimits& limits, KvEventBatch& out);

}  // namespace ringgate::kvevents
