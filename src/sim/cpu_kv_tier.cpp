#include "ringgate/sim/cpu_kv_tier.h"

namespace ringgate::sim {

std::optional<uint64_t> CpuKvTier::store(uint64_t hash, bool& stored) {
  stored = false;
  if (capacity_ == 0) return std::nullopt;
  if (auto it = by_hash_.find(hash); it != by_hash_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return std::nullopt;
  }
  std::optional<uint64_t> evicted;
  if (lru_.size() >= capacity_) {
    evicted = lru_.back();
    by_hash_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(hash);
  by_hash_.emplace(hash, lru_.begin());
  stored = true;
  return evicted;
}

void CpuKvTier::touch(uint64_t hash) {
  if (auto it = by_hash_.find(hash); it != by_hash_.end()) lru_.splice(lru_.begin(), lru_, it->second);
}

}  // namespace ringgate::sim
