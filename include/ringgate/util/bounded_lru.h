#pragma once
// A map from 128-bit content hashes to vectors of T, bounded by bytes (the elements plus
// a fixed overhead per entry), least recently used out first. Not thread-safe: the
// token cache keeps one per shard under a mutex, a worker's block-hash memo its own.
#include <cstddef>
#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>
#include <vector>

namespace ringgate::util {

struct Hash128 {
  uint64_t low = 0, high = 0;
  bool operator==(const Hash128&) const = default;
};

template <typename T>
class BoundedLru {
 public:
  static constexpr std::size_t kEntryOverhead = 128;  // list node, map node, vector header

  explicit BoundedLru(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  static std::size_t cost(std::size_t elements) { return elements * sizeof(T) + kEntryOverhead; }

  // The values kept for `key` (now the most recently used), or null. Valid until the
  // next insert().
  const std::vector<T>* find(const Hash128& key) {
    auto it = by_key_.find(key);
    if (it == by_key_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return &it->second->values;
  }

  // Keeps `values` for `key` unless it is there already or alone exceeds the bound;
  // the least recently used entries go until the rest fits.
  void insert(const Hash128& key, std::vector<T>&& values) {
    if (cost(values.size()) > max_bytes_ || by_key_.contains(key)) return;
    bytes_ += cost(values.size());
    lru_.push_front(Entry{key, std::move(values)});
    by_key_.emplace(key, lru_.begin());
    while (bytes_ > max_bytes_) {
      const Entry& oldest = lru_.back();
      bytes_ -= cost(oldest.values.size());
      by_key_.erase(oldest.key);
      lru_.pop_back();
    }
  }

  std::size_t entries() const { return lru_.size(); }
  std::size_t bytes() const { return bytes_; }
  std::size_t max_bytes() const { return max_bytes_; }

 private:
  struct Entry {
    Hash128 key;
    std::vector<T> values;
  };
  struct KeyHash {
    std::size_t operator()(const Hash128& k) const { return static_cast<std::size_t>(k.low); }
  };

  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<Hash128, typename std::list<Entry>::iterator, KeyHash> by_key_;
};

}  // namespace ringgate::util
