#include "ringgate/sched/response_table.h"

#include <xxhash.h>

namespace ringgate::sched {

ResponseTable::ResponseTable(ResponseTableLimits limits)
    : limits_(limits),
      shard_entries_(std::max<size_t>(1, limits.max_entries / kShards)),
      shard_bytes_(std::max<size_t>(entry_bytes(kMaxIdBytes), limits.max_bytes / kShards)) {}

size_t ResponseTable::entry_bytes(size_t id_bytes) {
  // The list node, the map's node and bucket, the id's heap bytes beyond the string's SSO.
  return sizeof(Entry) + 2 * sizeof(void*) + sizeof(std::string_view) + 3 * sizeof(void*) + id_bytes;
}

ResponseTable::Shard& ResponseTable::shard_of(std::string_view id) {
  return shards_[XXH3_64bits(id.data(), id.size()) % kShards];
}

bool ResponseTable::learn(std::string_view id, uint64_t server) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  Shard& shard = shard_of(id);
  std::lock_guard lock(shard.mutex);
  if (auto it = shard.index.find(id); it != shard.index.end()) {
    it->second->server = server;
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    return true;
  }
  shard.lru.push_front(Entry{std::string(id), server});
  shard.index.emplace(shard.lru.front().id, shard.lru.begin());
  shard.bytes += entry_bytes(id.size());
  while (shard.lru.size() > 1 && (shard.lru.size() > shard_entries_ || shard.bytes > shard_bytes_)) {
    Entry& oldest = shard.lru.back();
    shard.bytes -= entry_bytes(oldest.id.size());
    shard.index.erase(std::string_view(oldest.id));
    shard.lru.pop_back();
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

std::optional<uint64_t> ResponseTable::find(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return std::nullopt;
  Shard& shard = shard_of(id);
  std::lock_guard lock(shard.mutex);
  auto it = shard.index.find(id);
  if (it == shard.index.end()) return std::nullopt;
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  return it->second->server;
}

void ResponseTable::forget(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return;
  Shard& shard = shard_of(id);
  std::lock_guard lock(shard.mutex);
  auto it = shard.index.find(id);
  if (it == shard.index.end()) return;
  auto node = it->second;
  shard.index.erase(it);
  shard.bytes -= entry_bytes(node->id.size());
  shard.lru.erase(node);
}

size_t ResponseTable::size() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    n += shard.lru.size();
  }
  return n;
}

size_t ResponseTable::bytes() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    n += shard.bytes;
  }
  return n;
}

}  // namespace ringgate::sched
