#pragma once
// Token ids of prompt texts seen before, so a text that comes again is not tokenized
// again. Long prompts repeat: every turn of a conversation resends the whole history,
// and a shared document or system prompt leads many requests; with only the first
// maxTokenizeBytes tokenized, every request whose first 64 KiB were seen before is a
// lookup instead of ~1.3 ms of BPE. Keyed by a 128-bit hash of the exact text (and
// whether special tokens were added), so a hit returns exactly what tokenizing would.
//
// Bounded by bytes (ids plus a fixed overhead per entry), least recently used out
// first; sharded, each shard under its own mutex (every worker shares one cache).
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "ringgate/util/bounded_lru.h"

namespace ringgate::openai {

// Texts shorter than this are tokenized every time: cheap, and too many to keep.
inline constexpr std::size_t kMinCachedTextBytes = 4u << 10;
inline constexpr std::size_t kDefaultTokenCacheBytes = 64u << 20;

struct TokenCacheStats {
  uint64_t hits = 0, misses = 0, entries = 0, bytes = 0;
};

class TokenCache {
 public:
  // max_bytes 0: nothing is kept.
  explicit TokenCache(std::size_t max_bytes);

  // The ids cached for `text` copied into `ids`; false (ids untouched) when none.
  bool find(std::string_view text, bool add_special, std::vector<uint32_t>& ids) const;
  // Keeps `ids` as the tokenization of `text` (when the text is long enough and the
  // ids fit in a shard).
  void insert(std::string_view text, bool add_special, std::span<const uint32_t> ids);

  std::size_t max_bytes() const { return max_bytes_; }
  TokenCacheStats stats() const;

 private:
  struct Shard {
    mutable std::mutex mutex;
    util::BoundedLru<uint32_t> ids;
    explicit Shard(std::size_t max_bytes) : ids(max_bytes) {}
  };
  static constexpr std::size_t kShards = 8;

  static util::Hash128 key_of(std::string_view text, bool add_special);
  Shard& shard_of(const util::Hash128& key) const { return *shards_[(key.high >> 32) % kShards]; }

  std::size_t max_bytes_;
  std::array<std::unique_ptr<Shard>, kShards> shards_;
  mutable std::atomic<uint64_t> hits_{0}, misses_{0};
};

}  // namespace ringgate::openai
