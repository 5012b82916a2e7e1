#include "ringgate/openai/token_cache.h"

#include <xxhash.h>

namespace ringgate::openai {

TokenCache::TokenCache(std::size_t max_bytes) : max_bytes_(max_bytes) {
  for (auto& shard : shards_) shard = std::make_unique<Shard>(max_bytes / kShards);
}

util::Hash128 TokenCache::key_of(std::string_view text, bool add_special) {
  const XXH128_hash_t h = XXH3_128bits_withSeed(text.data(), text.size(), add_special ? 1 : 0);
  return {h.low64, h.high64};
}

bool TokenCache::find(std::string_view text, bool add_special, std::vector<uint32_t>& ids) const {
  if (max_bytes_ == 0 || text.size() < kMinCachedTextBytes) return false;
  const util::Hash128 key = key_of(text, add_special);
  Shard& shard = shard_of(key);
  {
    std::lock_guard lock(shard.mutex);
    if (const std::vector<uint32_t>* kept = shard.ids.find(key)) {
      ids.assign(kept->begin(), kept->end());
      hits_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void TokenCache::insert(std::string_view text, bool add_special, std::span<const uint32_t> ids) {
  if (max_bytes_ == 0 || text.size() < kMinCachedTextBytes) return;
  const util::Hash128 key = key_of(text, add_special);
  Shard& shard = shard_of(key);
  if (util::BoundedLru<uint32_t>::cost(ids.size()) > shard.ids.max_bytes()) return;
  std::vector<uint32_t> copy(ids.begin(), ids.end());  // copied outside the lock
  std::lock_guard lock(shard.mutex);
  shard.ids.insert(key, std::move(copy));  // (kept once when another worker got there first)
}

TokenCacheStats TokenCache::stats() const {
  TokenCacheStats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    s.entries += shard->ids.entries();
    s.bytes += shard->ids.bytes();
  }
  return s;
}

}  // namespace ringgate::openai
