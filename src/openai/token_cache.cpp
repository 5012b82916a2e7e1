#include "ringgate/openai/token_cache.h"

#include <xxhash.h>

namespace ringgate::openai {

TokenCache::TokenCache(std::size_t max_bytes) : max_bytes_(max_bytes), shard_bytes_(max_bytes / kShards) {}

TokenCache::Key TokenCache::key_of(std::string_view text, bool add_special) {
  const XXH128_hash_t h = XXH3_128bits_withSeed(text.data(), text.size(), add_special ? 1 : 0);
  return Key{h.low64, h.high64};
}

bool TokenCache::find(std::string_view text, bool add_special, std::vector<uint32_t>& ids) const {
  if (max_bytes_ == 0 || text.size() < kMinCachedTextBytes) return false;
  const Key key = key_of(text, add_special);
  Shard& shard = shard_of(key);
  {
    std::lock_guard lock(shard.mutex);
    auto it = shard.by_key.find(key);
    if (it != shard.by_key.end()) {
      shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
      ids.assign(it->second->ids.begin(), it->second->ids.end());
      hits_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void TokenCache::insert(std::string_view text, bool add_special, std::span<const uint32_t> ids) {
  if (max_bytes_ == 0 || text.size() < kMinCachedTextBytes || cost(ids.size()) > shard_bytes_) return;
  const Key key = key_of(text, add_special);
  Entry entry{key, std::vector<uint32_t>(ids.begin(), ids.end())};  // copied outside the lock
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mutex);
  if (shard.by_key.contains(key)) return;  // another worker tokenized it meanwhile
  shard.bytes += cost(entry.ids.size());
  shard.lru.push_front(std::move(entry));
  shard.by_key.emplace(key, shard.lru.begin());
  while (shard.bytes > shard_bytes_) {
    const Entry& oldest = shard.lru.back();
    shard.bytes -= cost(oldest.ids.size());
    shard.by_key.erase(oldest.key);
    shard.lru.pop_back();
  }
}

TokenCacheStats TokenCache::stats() const {
  TokenCacheStats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    s.entries += shard.lru.size();
    s.bytes += shard.bytes;
  }
  return s;
}

}  // namespace ringgate::openai
