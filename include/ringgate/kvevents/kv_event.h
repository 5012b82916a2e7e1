// vLLM's KV-cache events (vllm/distributed/kv_events.py, vLLM 0.12) as plain
// data, and their wire form: a KVEventBatch encoded by msgspec's msgpack
// encoder, every struct array-like (fields in declaration order) and each
// event tagged by its class name as the array's first element:
//
//   [ts: float64, [event, ...], data_parallel_rank: int]
//   ["BlockStored", [hash, ...], parent_hash | nil, [token id, ...], block_size, lora_id | nil, medium | nil]
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

struct BlockStored {
  std::vector<uint64_t> block_hashes;
  std::optional<uint64_t> parent_block_hash;
  std::vector<uint32_t> token_ids;
  uint32_t block_size = 0;
  std::optional<int64_t> lora_id;
  std::optional<std::string> medium;
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
  size_t max_string_bytes = 256;          // medium, tags
};

// msgpack bytes of `batch`, as vLLM's publisher sends them.
std::string encode_kv_event_batch(const KvEventBatch& batch);

// Parses a payload into `out`. Returns "" or why it was refused. Hashes sent
// as bytes (VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES=0) are folded to the same 64
// bits the integer form carries; fields newer vLLM releases append are skipped.
std::string decode_kv_event_batch(std::string_view payload, const KvEventLimits& limits, KvEventBatch& out);

}  // namespace ringgate::kvevents
