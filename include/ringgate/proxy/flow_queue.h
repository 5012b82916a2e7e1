#pragma once
// Flow control (GAIE's flow-control layer, done inside one worker): when every
// candidate endpoint is saturated, requests wait here instead of queueing inside a
// model server where nobody can reorder them.
//   - priority bands (InferenceObjective priority), highest band dispatched first;
//   - within a band, flows (fairness id) share fairly across all workers: the flow
//     served least gateway-wide goes next (FlowFairness), FCFS within a flow;
//   - bounds per band (requests, bytes) and for all bands; when they bind, lower bands
//     are evicted first, then the most backlogged flow of the same band gives up its
//     newest request (a heavy tenant cannot fill the band and lock a light one out);
//   - a TTL: a request that waited that long is evicted.
// One FlowQueue per worker (no lock of its own). Workers publish the highest priority
// they hold in FlowShared, and a worker does not dispatch a band while another worker
// holds a higher one, so "no lower band dispatched while a higher one waits" holds
// gateway-wide; FlowShared's FlowFairness does the same for flows within a band.
#include <atomic>
#include <climits>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/proxy/flow_fairness.h"

namespace ringgate::proxy {

// GAIE's QueueOutcome names (the outcome label of the queue-duration histogram).
enum class FlowOutcome : uint8_t {
  Dispatched,
  RejectedCapacity,
  EvictedTTL,
  EvictedContextCancelled,
  EvictedDisplaced,
  // llm-d's: the pool had no server for the model and none could be waited for
  // (holding off, or its bounds full): 503 at once.
  RejectedNoEndpoints,
  // llm-d's: waited out noEndpointRequestTTL with no server for the model: 503.
  EvictedNoEndpoints,
};
inline constexpr size_t kFlowOutcomes = 7;
const char* flow_outcome_name(FlowOutcome outcome);

// A queued request as the queue sees it.
class FlowWaiter {
 public:
  virtual ~FlowWaiter() = default;
  // The queue offers a dispatch. true: the request left the queue for good (routed, or
  // ended with an error); false: still nowhere to go (the pool is saturated): it is put
  // back where it was and the dispatch cycle stops.
  virtual bool flow_try_dispatch() = 0;
  // The queue dropped the request (TTL, displaced by bounds): it answers with an error.
  virtual void flow_evicted(FlowOutcome outcome) = 0;
};

struct BandLimits {
  uint64_t max_requests = UINT64_MAX;
  uint64_t max_bytes = UINT64_MAX;
};

// What the queue needs to know of the gateway's flow-control config, already divided
// by the number of workers (each worker enforces its share).
struct FlowLimits {
  BandLimits total;  // all bands
  // Per-band bounds: a band not listed uses default_band.
  std::vector<std::pair<int32_t, BandLimits>> bands;
  BandLimits default_band;
  uint64_t ttl_ms = 30000;
  // How long a request waits for a model with no ready server (ModelHold); 0 = not held.
  uint64_t no_endpoint_ttl_ms = 300000;
  const BandLimits& band(int32_t priority) const {
    for (const auto& [p, limits] : bands)
      if (p == priority) return limits;
    return default_band;
  }
};

// One worker's share of the gateway-wide bounds (each worker enforces its 1/workers: at
// least 1, "no bound" stays so); the TTLs as they are. Gateway workers and EPP threads alike.
void assign_worker_share(FlowLimits& share, const FlowLimits& all, size_t workers);

// The workers' shared view: the highest priority each one holds queued.
class FlowShared {
 public:
  static constexpr size_t kMaxWorkers = 1024;
  static constexpr int32_t kNone = INT32_MIN;
  FlowShared() {
    for (auto& slot : highest_) slot.store(kNone, std::memory_order_relaxed);
  }
  void publish(size_t worker, int32_t highest) {
    if (worker < kMaxWorkers) highest_[worker].store(highest, std::memory_order_release);
  }
  // The highest priority queued by any worker other than `worker`.
  int32_t highest_elsewhere(size_t worker, size_t workers) const {
    int32_t best = kNone;
    for (size_t i = 0; i < workers && i < kMaxWorkers; ++i)
      if (i != worker) best = std::max(best, highest_[i].load(std::memory_order_acquire));
    return best;
  }

  // Served and waiting counts per flow of each band, across the workers.
  FlowFairness fairness;

 private:
  std::atomic<int32_t> highest_[kMaxWorkers];
};

struct FlowBandView {
  int32_t priority = 0;
  uint64_t requests = 0;
  uint64_t bytes = 0;
  size_t flows = 0;
};

class FlowQueue {
 public:
  // shared may be null (one worker, tests); workers = how many publish into shared.
  FlowQueue(FlowShared* shared = nullptr, size_t worker = 0, size_t workers = 1)
      : shared_(shared), worker_(worker), workers_(workers), fairness_(shared ? &shared->fairness : &own_fairness_) {}
  FlowQueue(const FlowQueue&) = delete;
  FlowQueue& operator=(const FlowQueue&) = delete;

  // Queues `waiter`, making room by evictions when the bounds bind. false: refused
  // (RejectedCapacity: nothing was queued, the caller answers). Then runs a dispatch cycle
  // (`offer`: false: the caller has just found it cannot go, no cycle runs).
  bool enqueue(FlowWaiter* waiter, int32_t priority, std::string_view flow_id, uint64_t bytes, const FlowLimits& limits,
               uint64_t now_ms, bool offer = true);
  // Takes `waiter` out (client gone). No callback. false: it was not queued.
  bool remove(FlowWaiter* waiter);
  // Offers dispatches, highest band first, until one says the pool is saturated.
  void dispatch();
  // Evicts what waited past the TTL (EvictedTTL), then dispatches.
  void expire(uint64_t now_ms, uint64_t ttl_ms);

  bool empty() const { return total_requests_ == 0; }
  uint64_t size() const { return total_requests_; }
  uint64_t bytes() const { return total_bytes_; }
  int32_t highest_priority() const { return bands_.empty() ? FlowShared::kNone : bands_.begin()->first; }
  std::vector<FlowBandView> bands() const;

 private:
  struct Entry {
    FlowWaiter* waiter;
    uint64_t enqueued_ms;
    uint64_t bytes;
  };
  struct Flow {
    std::string id;
    std::deque<Entry> items;
  };
  struct Band {
    std::vector<Flow> flows;  // only flows with queued requests
    size_t next = 0;          // round-robin position
    uint64_t requests = 0;
    uint64_t bytes = 0;
  };
  using Bands = std::map<int32_t, Band, std::greater<int32_t>>;

  Flow& flow_of(Band& band, std::string_view id, bool at_next);
  // Removes entry `index` of flow `f` in band `it` (erasing what became empty).
  Entry take(Bands::iterator it, size_t f, size_t index);
  // The tail (newest) of the most backlogged flow of band `it` (it leaves the fairness
  // table too).
  Entry take_newest_of_longest(Bands::iterator it);
  void notify(std::vector<FlowWaiter*>& evicted, FlowOutcome outcome);
  void publish();

  FlowShared* shared_;
  size_t worker_;
  size_t workers_;
  FlowFairness own_fairness_;  // without FlowShared (one worker, tests)
  FlowFairness* fairness_;
  std::vector<std::string_view> turn_scratch_;  // dispatch(): this band's flow ids in turn order
  Bands bands_;
  uint64_t total_requests_ = 0;
  uint64_t total_bytes_ = 0;
  bool dispatching_ = false;
};

}  // namespace ringgate::proxy
