#pragma once
// Which model server holds each Responses API response: response id -> the server's
// address hash (sched::address_hash of "host:port": the same in every gateway replica,
// and one server for all of its data-parallel engines, whose API server keeps the
// store). Learned from the answers (proxy/response_affinity.h), read by requests that
// name a response (previous_response_id, /v1/responses/{id}...), and, with sharedState,
// filled with what the other replicas learned (control/shared_responses.h).
//
// Shared by every worker and the control thread. It is the third structure on the data
// path with locks (DESIGN.md names the prefix index's and the flow-fairness table's):
// 16 sharded mutexes, each held for one hash-map operation, by Responses API requests
// only (a lookup for one that continues a response, an insert for each answer).
//
// Bounded: at most max_entries ids and max_bytes of them (ids and their nodes), spread
// over the shards; beyond, each shard forgets its least recently used. An id longer
// than openai::kMaxResponseIdBytes is never stored.
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

namespace ringgate::sched {

struct ResponseTableLimits {
  size_t max_entries = 1'000'000;
  size_t max_bytes = size_t(256) << 20;
};

class ResponseTable {
 public:
  static constexpr size_t kShards = 16;
  static constexpr size_t kMaxIdBytes = 256;  // openai::kMaxResponseIdBytes (sched sits below openai)

  explicit ResponseTable(ResponseTableLimits limits = {});
  ResponseTable(const ResponseTable&) = delete;
  ResponseTable& operator=(const ResponseTable&) = delete;

  // `id` is held by the server of `server` (an address hash). False: not stored (empty
  // or too long an id).
  bool learn(std::string_view id, uint64_t server);
  // The holder's address hash, if known (the entry becomes the most recently used).
  std::optional<uint64_t> find(std::string_view id);
  void forget(std::string_view id);

  size_t size() const;
  size_t bytes() const;
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  const ResponseTableLimits& limits() const { return limits_; }
  // The bytes an entry of an id this long is counted as.
  static size_t entry_bytes(size_t id_bytes);

 private:
  struct Entry {
    std::string id;
    uint64_t server = 0;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::list<Entry> lru;  // most recent first
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index;  // keys view lru's ids
    size_t bytes = 0;
  };
  Shard& shard_of(std::string_view id);

  ResponseTableLimits limits_;
  size_t shard_entries_, shard_bytes_;
  std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace ringgate::sched
