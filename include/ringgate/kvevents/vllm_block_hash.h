// vLLM's prefix-cache block hashes for --prefix-caching-hash-algo sha256_cbor
// (vllm/v1/core/kv_cache_utils.py, vllm/utils/hashing.py, vLLM 0.12):
//
//   NONE_HASH  = sha256(cbor(PYTHONHASHSEED as a text string))
//   hash(b)    = sha256(cbor([parent or NONE_HASH (32 bytes), [token ids of b], extra_keys]))
//   extra_keys = null, or [lora_name?, media identifiers the block overlaps...]
//                (generate_block_hash_extra_keys; media_placeholder.h)
//
// with CBOR canonical (shortest-form) encoding. KV events carry the low 64 bits
// of each digest as an integer (maybe_convert_block_hash with the default
// VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES=1: int.from_bytes(digest, "big") & (2^64-1),
// i.e. the last 8 bytes read big-endian); the chain itself uses full digests.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ringgate/kvevents/kv_event.h"
#include "ringgate/kvevents/media_placeholder.h"

namespace ringgate::kvevents {

using BlockDigest = std::array<uint8_t, 32>;

// The 64-bit form of a digest that KV events and ringgate's indexes use.
uint64_t external_block_hash(const BlockDigest& digest);

class VllmBlockHasher {
 public:
  // `python_hash_seed`: the PYTHONHASHSEED value the vLLM server runs with
  // (vLLM uses random bytes when it is unset, and then nobody can match them).
  explicit VllmBlockHasher(std::string_view python_hash_seed);
  // vLLM without PYTHONHASHSEED: NONE_HASH is 32 random bytes.
  explicit VllmBlockHasher(const BlockDigest& none_hash) : none_hash_(none_hash) {}

  const BlockDigest& none_hash() const { return none_hash_; }

  // One block: `parent` null for the first block of a prompt.
  BlockDigest hash_block(const BlockDigest* parent, std::span<const uint32_t> tokens,
                         std::string_view lora_name) const;
  // The same with the block's extra keys given (empty: null).
  BlockDigest hash_block(const BlockDigest* parent, std::span<const uint32_t> tokens,
                         std::span<const std::string_view> extra_keys) const;

  // The 64-bit hashes of every full block of `tokens` (a trailing partial
  // block is not cached, as in vLLM), appended to `out`. At most `max_blocks`.
  void hash_prompt(std::span<const uint32_t> tokens, uint32_t block_size, std::string_view lora_name,
                   std::vector<uint64_t>& out, size_t max_blocks = SIZE_MAX) const;
  // A prompt with media runs (sorted by offset): each block's extra keys carry the
  // identifiers of the runs it overlaps. `keys` (may be null): each hashed block's extra
  // keys appended, as a BlockStored event carries them.
  void hash_prompt(std::span<const uint32_t> tokens, uint32_t block_size, std::string_view lora_name,
                   std::span<const MediaPlaceholder> media, std::vector<uint64_t>& out, size_t max_blocks = SIZE_MAX,
                   std::vector<BlockExtraKeys>* keys = nullptr) const;

 private:
  BlockDigest none_hash_{};
};

}  // namespace ringgate::kvevents
