#pragma once
// What the approximate prefix index promised each endpoint: the prompt tokens this
// gateway routed there on first attempts, and how many of them the index said the
// endpoint held (counted as vLLM counts a hit: whole KV blocks, never the prompt's last
// token). The control thread sets these against the server's own prefix-cache counters
// (control/prefix_capacity.h): an index that promises hits the server does not deliver
// remembers what the server has evicted. Shared by all workers; relaxed atomics, one
// cache line per endpoint. Storage and threading as InflightCounters (util::StableSlots:
// ids the control thread never ensured read 0 and their adds are ignored).

#include <atomic>
#include <cstdint>

#include "ringgate/sched/endpoint_id.h"
#include "ringgate/util/stable_slots.h"

namespace ringgate::sched {

// A hit as vLLM counts one (vllm:prefix_cache_hits_total): the leading tokens matched,
// in whole blocks of the server's block_size (0: unknown, taken as 16), never the
// prompt's last token (vLLM computes it again to sample from it).
constexpr uint64_t counted_hit_tokens(uint64_t matched_tokens, uint64_t prompt_tokens, uint64_t block_size) {
  if (prompt_tokens == 0) return 0;
  const uint64_t block = block_size ? block_size : 16;
  const uint64_t held = matched_tokens < prompt_tokens - 1 ? matched_tokens : prompt_tokens - 1;
  return held / block * block;
}

struct PrefixForecast {
  uint64_t requests = 0;
  uint64_t prompt_tokens = 0;
  uint64_t promised_tokens = 0;
};

class PrefixForecasts {
 public:
  // Control thread: make `id` addressable. False if id is beyond the limit.
  bool ensure(EndpointId id) { return slots_.ensure(id); }

  void add(EndpointId id, uint64_t prompt_tokens, uint64_t promised_tokens) {
    if (Slot* s = slots_.at(id)) {
      s->requests.fetch_add(1, std::memory_order_relaxed);
      s->prompt_tokens.fetch_add(prompt_tokens, std::memory_order_relaxed);
      s->promised_tokens.fetch_add(promised_tokens, std::memory_order_relaxed);
    }
  }
  // Totals since the id was first ensured (the three loads are not one snapshot: a
  // racing add skews one window by one request).
  PrefixForecast get(EndpointId id) const {
    const Slot* s = slots_.at(id);
    if (!s) return {};
    return {s->requests.load(std::memory_order_relaxed), s->prompt_tokens.load(std::memory_order_relaxed),
            s->promised_tokens.load(std::memory_order_relaxed)};
  }

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> requests{0};
    std::atomic<uint64_t> prompt_tokens{0};
    std::atomic<uint64_t> promised_tokens{0};
  };
  util::StableSlots<Slot> slots_;
};

}  // namespace ringgate::sched
