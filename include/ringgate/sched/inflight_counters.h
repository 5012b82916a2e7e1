#pragma once
// Per-endpoint count of requests this gateway has in flight, how many of them are
// sheddable (the saturation detector's headroom), and the uncached prompt tokens sent
// there whose first token has not come yet (the latency model's in-flight prefill: the
// prefill work queued ahead of a new request, known before any scrape shows it), shared
// by all workers (relaxed atomics, one cache line per endpoint to avoid false sharing).
// Storage is stable: chunks are allocated on demand by the control thread
// (ensure()) before an endpoint id is published in a snapshot, and never freed
// or moved while the object lives. Workers call add()/sub()/get() for ids in
// their snapshot; those never allocate or lock. Ids never ensured read 0 and
// their add/sub are ignored.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "ringgate/sched/endpoint_id.h"

namespace ringgate::sched {

class InflightCounters {
 public:
  static constexpr size_t kChunkSize = 256;
  static constexpr size_t kMaxChunks = 1024;  // ids < 262144

  InflightCounters();
  ~InflightCounters();
  InflightCounters(const InflightCounters&) = delete;
  InflightCounters& operator=(const InflightCounters&) = delete;

  // Control thread: make `id` addressable. False if id is beyond the limit.
  bool ensure(EndpointId id);

  void add(EndpointId id, bool sheddable = false) {
    if (Counter* c = slot(id)) {
      c->all.fetch_add(1, std::memory_order_relaxed);
      if (sheddable) c->sheddable.fetch_add(1, std::memory_order_relaxed);
    }
  }
  void sub(EndpointId id, bool sheddable = false) {
    if (Counter* c = slot(id)) {
      c->all.fetch_sub(1, std::memory_order_relaxed);
      if (sheddable) c->sheddable.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  int64_t get(EndpointId id) const {
    const Counter* c = slot(id);
    return c ? c->all.load(std::memory_order_relaxed) : 0;
  }
  int64_t get_sheddable(EndpointId id) const {
    const Counter* c = slot(id);
    return c ? c->sheddable.load(std::memory_order_relaxed) : 0;
  }
  // In-flight prefill tokens: added when a request is sent, removed (the same amount)
  // at its first token or its end, whichever comes first.
  void add_prefill_tokens(EndpointId id, int64_t tokens) {
    if (Counter* c = slot(id)) c->prefill_tokens.fetch_add(tokens, std::memory_order_relaxed);
  }
  void sub_prefill_tokens(EndpointId id, int64_t tokens) {
    if (Counter* c = slot(id)) c->prefill_tokens.fetch_sub(tokens, std::memory_order_relaxed);
  }
  int64_t get_prefill_tokens(EndpointId id) const {
    const Counter* c = slot(id);
    return c ? c->prefill_tokens.load(std::memory_order_relaxed) : 0;
  }

 private:
  struct alignas(64) Counter {
    std::atomic<int64_t> all{0};
    std::atomic<int64_t> sheddable{0};
    std::atomic<int64_t> prefill_tokens{0};  // same cache line: no extra miss per candidate
  };
  struct Chunk {
    Counter counters[kChunkSize];
  };
  Counter* slot(EndpointId id) const {
    size_t chunk = id / kChunkSize;
    if (chunk >= kMaxChunks) return nullptr;
    Chunk* c = chunks_[chunk].load(std::memory_order_acquire);
    return c ? &c->counters[id % kChunkSize] : nullptr;
  }
  std::unique_ptr<std::atomic<Chunk*>[]> chunks_;
};

}  // namespace ringgate::sched
