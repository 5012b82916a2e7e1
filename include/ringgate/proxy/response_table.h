#pragma once
// Which model server holds each Responses API response: response id -> the server's
// address hash (sched::address_hash of "host:port": the same in every gateway replica,
// and one server for all of its data-parallel engines, whose API server keeps the
// store). Learned from the answers (proxy/response_affinity.h), read by requests that
// name a response (previous_response_id, /v1/responses/{id}...), and, with sharedState,
// filled with what the other replicas learned (control/shared_responses.h).
//
// Shared by every worker and the control thread. It is one of the structures on the data
// path with locks (docs/architecture.md, "One process, one worker per core", names each):
// 16 sharded mutexes, each held for one hash-map operation, by Responses API requests
// only (a lookup for one that continues a response, an insert for each answer).
//
// Bounded (a model server chooses the ids: one answering each request with a fresh id
// fills it): at most max_entries ids and max_bytes of memory, both for the whole table
// (config responses.maxEntries / maxBytes, changed live by set_limits()). An entry is
// counted as the resident memory it costs, measured (entry_bytes()), not as its id's
// bytes. Beyond either bound the least recently used entry of the whole table is
// forgotten first (each entry carries a stamp of its last use; each shard publishes the
// stamp of its oldest). An id longer than openai::kMaxResponseIdBytes is never stored.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ringgate/openai/api_routes.h"

namespace ringgate::proxy {

// The defaults of config responses.maxEntries / responses.maxBytes.
struct ResponseTableLimits {
  size_t max_entries = 100'000;
  size_t max_bytes = size_t(64) << 20;
};

class ResponseTable {
 public:
  static constexpr size_t kShards = 16;
  static constexpr size_t kMaxIdBytes = openai::kMaxResponseIdBytes;
  // What an entry costs beside its id's bytes: the list node (prev, next, the id's
  // std::string, the server and the stamp: 64 bytes), the map's node (next, key view,
  // iterator, cached hash: 48), its bucket (8 to 16), and the id's heap block, which
  // mimalloc rounds up to its size class (4 a power of two: up to a quarter more, 320
  // bytes for a 256-byte id). Measured with mimalloc, as the gateway links it
  // (perf/proxy/response_table_rss.cpp, 200,000 and 1,000,000 entries, RSS from
  // /proc/self/statm): an entry of a 256-byte id costs 448-451 bytes of RSS; of a
  // 37-byte id ("resp_" + 32 hex, vLLM's) 173-176; of 16, 64, 128, 200 bytes 160, 208,
  // 289, 354. entry_bytes() counts 464, 190, 164, 224, 304, 394: never less.
  static constexpr size_t kEntryOverheadBytes = 144;

  explicit ResponseTable(ResponseTableLimits limits = {});
  ResponseTable(const ResponseTable&) = delete;
  ResponseTable& operator=(const ResponseTable&) = delete;

  // `id` is held by the server of `server` (an address hash). False: not stored (empty
  // or too long an id). Evicts the least recently used entries beyond the bounds.
  bool learn(std::string_view id, uint64_t server);
  // The holder's address hash, if known (the entry becomes the most recently used).
  std::optional<uint64_t> find(std::string_view id);
  void forget(std::string_view id);

  // New bounds (a config reload; any thread): entries beyond them are evicted at once,
  // least recently used first. max_entries is at least 1 and max_bytes at least one
  // entry of the longest id.
  void set_limits(ResponseTableLimits limits);
  ResponseTableLimits limits() const {
    return {max_entries_.load(std::memory_order_relaxed), max_bytes_.load(std::memory_order_relaxed)};
  }

  size_t size() const { return entries_.load(std::memory_order_relaxed); }
  size_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  // The resident bytes an entry of an id this long is counted as.
  static constexpr size_t entry_bytes(size_t id_bytes) { return kEntryOverheadBytes + id_bytes + id_bytes / 4; }

 private:
  struct Entry {
    std::string id;
    uint64_t server = 0;
    uint64_t stamp = 0;  // when last learned or found (stamp_)
  };
  struct Shard {
    mutable std::mutex mutex;
    std::list<Entry> lru;  // most recent first
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index;  // keys view lru's ids
    // lru.back()'s stamp (UINT64_MAX: empty), read without the lock to pick a victim.
    std::atomic<uint64_t> oldest{UINT64_MAX};
  };
  Shard& shard_of(std::string_view id);
  uint64_t next_stamp() { return stamp_.fetch_add(1, std::memory_order_relaxed); }
  bool over() const;
  // Under the shard's lock.
  void touch(Shard& shard, std::list<Entry>::iterator it);
  void erase(Shard& shard, std::list<Entry>::iterator it);
  static void note_oldest(Shard& shard);
  // Forgets the table's least recently used entry (the shard whose oldest is oldest);
  // false when the table is empty.
  bool evict_oldest();
  void evict_while_over();

  std::atomic<size_t> max_entries_, max_bytes_;
  std::array<Shard, kShards> shards_;
  std::atomic<size_t> entries_{0}, bytes_{0};
  std::atomic<uint64_t> stamp_{0};
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace ringgate::proxy
