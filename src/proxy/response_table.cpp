#include "ringgate/proxy/response_table.h"

#include <xxhash.h>

#include <algorithm>

namespace ringgate::proxy {

namespace {
ResponseTableLimits clamped(ResponseTableLimits limits) {
  limits.max_entries = std::max<size_t>(1, limits.max_entries);
  limits.max_bytes = std::max(ResponseTable::entry_bytes(ResponseTable::kMaxIdBytes), limits.max_bytes);
  return limits;
}
}  // namespace

ResponseTable::ResponseTable(ResponseTableLimits limits)
    : max_entries_(clamped(limits).max_entries), max_bytes_(clamped(limits).max_bytes) {}

ResponseTable::Shard& ResponseTable::shard_of(std::string_view id) {
  return shards_[XXH3_64bits(id.data(), id.size()) % kShards];
}

bool ResponseTable::over() const {
  return entries_.load(std::memory_order_relaxed) > max_entries_.load(std::memory_order_relaxed) ||
         bytes_.load(std::memory_order_relaxed) > max_bytes_.load(std::memory_order_relaxed);
}

void ResponseTable::note_oldest(Shard& shard) {
  shard.oldest.store(shard.lru.empty() ? UINT64_MAX : shard.lru.back().stamp, std::memory_order_relaxed);
}

void ResponseTable::touch(Shard& shard, std::list<Entry>::iterator it) {
  it->stamp = next_stamp();
  shard.lru.splice(shard.lru.begin(), shard.lru, it);
  note_oldest(shard);
}

void ResponseTable::erase(Shard& shard, std::list<Entry>::iterator it) {
  shard.index.erase(std::string_view(it->id));
  entries_.fetch_sub(1, std::memory_order_relaxed);
  bytes_.fetch_sub(entry_bytes(it->id.size()), std::memory_order_relaxed);
  shard.lru.erase(it);
  note_oldest(shard);
}

bool ResponseTable::learn(std::string_view id, uint64_t server) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  {
    Shard& shard = shard_of(id);
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.index.find(id); it != shard.index.end()) {
      it->second->server = server;
      touch(shard, it->second);
      return true;
    }
    shard.lru.push_front(Entry{std::string(id), server, next_stamp()});
    shard.index.emplace(shard.lru.front().id, shard.lru.begin());
    entries_.fetch_add(1, std::memory_order_relaxed);
    bytes_.fetch_add(entry_bytes(id.size()), std::memory_order_relaxed);
    note_oldest(shard);
  }
  evict_while_over();
  return true;
}

std::optional<uint64_t> ResponseTable::find(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return std::nullopt;
  Shard& shard = shard_of(id);
  std::lock_guard lock(shard.mutex);
  auto it = shard.index.find(id);
  if (it == shard.index.end()) return std::nullopt;
  touch(shard, it->second);
  return it->second->server;
}

void ResponseTable::forget(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return;
  Shard& shard = shard_of(id);
  std::lock_guard lock(shard.mutex);
  auto it = shard.index.find(id);
  if (it == shard.index.end()) return;
  erase(shard, it->second);
}

void ResponseTable::set_limits(ResponseTableLimits limits) {
  limits = clamped(limits);
  max_entries_.store(limits.max_entries, std::memory_order_relaxed);
  max_bytes_.store(limits.max_bytes, std::memory_order_relaxed);
  evict_while_over();
}

// One shard lock at a time (never two held): the victim's shard is picked from the
// shards' published oldest stamps, then locked; its oldest may have been used
// meanwhile (another thread's find), and is then not the table's oldest any more,
// which an LRU under concurrent use allows.
bool ResponseTable::evict_oldest() {
  Shard* victim = nullptr;
  uint64_t oldest = UINT64_MAX;
  for (Shard& shard : shards_)
    if (const uint64_t stamp = shard.oldest.load(std::memory_order_relaxed); stamp < oldest) {
      oldest = stamp;
      victim = &shard;
    }
  if (victim == nullptr) return false;
  std::lock_guard lock(victim->mutex);
  if (victim->lru.empty()) return true;  // emptied meanwhile: look again
  erase(*victim, std::prev(victim->lru.end()));
  evictions_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void ResponseTable::evict_while_over() {
  while (over() && evict_oldest()) {
  }
}

}  // namespace ringgate::proxy
