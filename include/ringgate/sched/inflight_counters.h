#pragma once
// Per-endpoint count of requests this gateway has in flight, how many of them are
// sheddable (the saturation detector's headroom), and those whose first token has not
// come yet: their uncached prompt tokens (the latency model's in-flight prefill: the
// prefill work queued ahead of a new request, known before any scrape shows it) and
// their mean age (how long a new request would at least wait there: a server that
// stalls or slows shows it at once, long before its answers teach the model), shared
// by all workers (relaxed atomics, one cache line per endpoint to avoid false sharing).
// Storage is util::StableSlots: the control thread makes an endpoint id addressable
// (ensure()) before it publishes the id in a snapshot. Workers call add()/sub()/get()
// for ids in their snapshot; those never allocate or lock. Ids never ensured read 0
// and their add/sub are ignored.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "ringgate/sched/endpoint_id.h"
#include "ringgate/util/stable_slots.h"

namespace ringgate::sched {

class InflightCounters {
 public:
  // Control thread: make `id` addressable. False if id is beyond the limit.
  bool ensure(EndpointId id) { return slots_.ensure(id); }

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
  // A request awaiting its first token: added when it is sent (its uncached prompt tokens,
  // when it was sent in steady-clock ms; 0: not timed, an answer whose first byte is not
  // its first token), removed with the same numbers at its first byte or its end.
  void add_awaiting(EndpointId id, int64_t tokens, int64_t sent_ms) {
    if (Counter* c = slot(id)) {
      if (tokens) c->prefill_tokens.fetch_add(tokens, std::memory_order_relaxed);
      if (sent_ms == 0) return;
      c->awaiting.fetch_add(1, std::memory_order_relaxed);
      c->awaiting_sent_ms.fetch_add(sent_ms, std::memory_order_relaxed);
    }
  }
  void sub_awaiting(EndpointId id, int64_t tokens, int64_t sent_ms) {
    if (Counter* c = slot(id)) {
      if (tokens) c->prefill_tokens.fetch_sub(tokens, std::memory_order_relaxed);
      if (sent_ms == 0) return;
      c->awaiting.fetch_sub(1, std::memory_order_relaxed);
      c->awaiting_sent_ms.fetch_sub(sent_ms, std::memory_order_relaxed);
    }
  }
  // Tokens of this gateway's requests in flight there (the token-load scorer's load): a
  // request's prompt (and estimated output) tokens, added when it is sent, removed with
  // the same number when it leaves.
  void add_tokens(EndpointId id, int64_t tokens) {
    if (Counter* c = slot(id); c && tokens) c->tokens.fetch_add(tokens, std::memory_order_relaxed);
  }
  void sub_tokens(EndpointId id, int64_t tokens) {
    if (Counter* c = slot(id); c && tokens) c->tokens.fetch_sub(tokens, std::memory_order_relaxed);
  }
  int64_t get_tokens(EndpointId id) const {
    const Counter* c = slot(id);
    return c ? c->tokens.load(std::memory_order_relaxed) : 0;
  }
  // The no-hit-lru scorer's recency: `id` was just picked for a cold request. Stamps come
  // from one counter all workers share, so they order the endpoints pool-wide.
  void stamp_cold(EndpointId id) {
    if (Counter* c = slot(id)) c->cold_stamp.store(cold_clock_.fetch_add(1, std::memory_order_relaxed) + 1,
                                                   std::memory_order_relaxed);
  }
  uint64_t get_cold_stamp(EndpointId id) const {
    const Counter* c = slot(id);
    return c ? c->cold_stamp.load(std::memory_order_relaxed) : 0;
  }
  int64_t get_prefill_tokens(EndpointId id) const {
    const Counter* c = slot(id);
    return c ? c->prefill_tokens.load(std::memory_order_relaxed) : 0;
  }
  // Requests awaiting their first token there (raw: a count given back twice shows negative).
  int64_t get_awaiting(EndpointId id) const {
    const Counter* c = slot(id);
    return c ? c->awaiting.load(std::memory_order_relaxed) : 0;
  }
  // The mean age at `now_ms` of the requests awaiting their first token there (0: none).
  // The two loads are not one snapshot: a racing add/sub skews one read, clamped to 0..1 h.
  double awaiting_age_ms(EndpointId id, int64_t now_ms) const {
    const Counter* c = slot(id);
    if (!c) return 0;
    const int64_t n = c->awaiting.load(std::memory_order_relaxed);
    if (n <= 0) return 0;
    const double mean_sent = double(c->awaiting_sent_ms.load(std::memory_order_relaxed)) / double(n);
    return std::clamp(double(now_ms) - mean_sent, 0.0, 3.6e6);
  }

 private:
  struct alignas(64) Counter {
    std::atomic<int64_t> all{0};
    std::atomic<int64_t> sheddable{0};
    std::atomic<int64_t> prefill_tokens{0};  // same cache line: no extra miss per candidate
    std::atomic<int64_t> awaiting{0};
    std::atomic<int64_t> awaiting_sent_ms{0};  // the sum of their send times
    std::atomic<int64_t> tokens{0};            // in-flight token load (still one cache line)
    std::atomic<uint64_t> cold_stamp{0};
  };
  Counter* slot(EndpointId id) const { return slots_.at(id); }
  util::StableSlots<Counter> slots_;
  std::atomic<uint64_t> cold_clock_{0};
};

}  // namespace ringgate::sched
