#pragma once
// How much of the approximate prefix index each server gets: sized from what the server
// reports of its KV tiers (vllm:cache_config_info: num_gpu_blocks + num_cpu_blocks, of
// block_size tokens, 4 bytes a token as the index's 64-byte blocks count them), times a
// factor the server's own prefix-cache counters keep honest.
//
// Why a factor, and why fed back: the index and the server forget in different ways.
// The server's cache also holds the KV of running sequences' outputs, which the index
// never sees, so under load it holds fewer prompts than its size says (workload H at
// 56 req/s: an index twice the size kept groups on servers that had evicted them, and
// each became a miss queued behind the busiest server); long prompts are kept sparsely
// (sched/prefix_hasher.h), so an entry stands for more prompt than a block; and where the
// two evict in a different order, an index sized to the cache forgets what the server
// still holds (a sure miss elsewhere). No fixed factor is right for all of these, so
// each window of kWindowRequests routed requests sets what the index promised
// (PrefixForecasts: the tokens it said the server held) against what the server
// delivered (vllm:prefix_cache_hits_total + vllm:external_prefix_cache_hits_total over
// vllm:prefix_cache_queries_total, the same window).
//
// A broken promise costs only where the server queues: a prompt it evicted misses
// wherever it goes, but the index's memory of it pulls the request into that server's
// queue. So the factor shrinks when the index promised more than the server delivered
// while requests waited there (vllm:num_requests_waiting ≥ 1 in a scrape of the window),
// and grows back to the ceiling otherwise. Where no queue forms, the generous index
// keeps its hits: on workload C (multi-turn chat, no queue) shrinking on every broken
// promise cost 0.02-0.04 of the hit rate.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ringgate/sched/endpoint_id.h"
#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/sched/prefix_forecasts.h"

namespace ringgate::control {

// The factor's range and steps. The ceiling: forgetting a prompt the server still holds
// sends its next request elsewhere, a sure miss, so the index starts generous (twice
// the server's KV). The floor: a long prompt's entries stand for ~2.2 blocks each at
// 12 KB (sched/prefix_hasher.h), and running outputs take most of a full cache.
inline constexpr double kMaxCapacityFactor = 2.0;
inline constexpr double kMinCapacityFactor = 0.25;
// Promised minus delivered hit rate past which the index shrinks, and under which it grows.
inline constexpr double kOverPromise = 0.03;
inline constexpr double kKeptPromise = 0.01;
inline constexpr double kShrinkStep = 0.8;
inline constexpr double kGrowStep = 1.1;
// Routed requests a window needs before it is judged (fewer: one request's miss moves the rate).
inline constexpr uint64_t kWindowRequests = 32;

// One window's verdict: the next factor (clamped to [min, max]). `queued`: requests waited
// at the server during the window.
double next_capacity_factor(double factor, double promised, double delivered, bool queued);

class PrefixCapacity {
 public:
  explicit PrefixCapacity(size_t index_block_bytes) : block_bytes_(index_block_bytes ? index_block_bytes : 64) {}

  // Control thread, for each endpoint of a published snapshot: the capacity (index
  // entries) to give it, 0 while the server has not reported its KV size.
  size_t update(const sched::EndpointState& endpoint, const sched::PrefixForecast& routed);
  // Its id now names another server (or none): start afresh.
  void reset(sched::EndpointId id);

  struct State {
    double factor = kMaxCapacityFactor;
    bool open = false;    // a window is under way
    bool queued = false;  // a scrape in it showed requests waiting
    double queries = 0;   // the server's counters at the window's start
    double hits = 0;
    sched::PrefixForecast routed;  // the forecast at the window's start
    // The last judged window's rates (-1: none yet) and queue, and how many windows were judged.
    double promised = -1;
    double delivered = -1;
    bool queued_then = false;
    uint64_t windows = 0;
  };
  const State* state(sched::EndpointId id) const { return id < states_.size() ? &states_[id] : nullptr; }
  // {"factor":..,"promised":..,"delivered":..,"queued":..,"windows":..} (/debug/endpoints).
  void append_json(std::string& out, sched::EndpointId id) const;

 private:
  size_t capacity_of(const sched::EndpointState& e, double factor) const;

  size_t block_bytes_;
  std::vector<State> states_;
};

}  // namespace ringgate::control
