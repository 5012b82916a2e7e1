#pragma once
// Fairness between the flows of a priority band across every worker of one gateway.
// Each worker queues the requests of its own connections; a tenant whose connections
// all land on one worker would otherwise only get that worker's round-robin turns.
// So the workers share, per band and flow, how many requests the flow has had
// dispatched (its virtual time) and how many it has waiting anywhere:
//   - a worker dispatches, of the flows it holds, the one served least gateway-wide;
//   - it holds back when even that one is more than kSlack ahead of a flow waiting on
//     another worker: that worker dispatches the lagging flow (it rechecks within a
//     few ms, flow_recheck in worker.cpp);
//   - a flow that starts to wait starts at the least-served waiting flow's count (it
//     gets its fair turn at once, not a catch-up burst for the time it was idle).
// Only flows with requests waiting are kept (bounded by the queue bounds). One mutex:
// the table is touched only while requests wait (every endpoint saturated); a request
// that finds every queue empty and the pool free skips it (FlowQueue::enqueue).
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ringgate::proxy {

class FlowFairness {
 public:
  // How many requests a flow may be ahead of the least-served waiting flow before its
  // worker leaves the next turn to another worker. 1, not 0: two workers that both see
  // a freed slot at once may both dispatch (ties), without idling a slot for a recheck.
  static constexpr uint64_t kSlack = 1;

  // A request of (band, flow) joined a queue (any worker).
  void joined(int32_t band, std::string_view flow);
  // It left the queue: dispatched (served = true) or dropped (client gone, evicted).
  void left(int32_t band, std::string_view flow, bool served);
  // Of `flows` (ids of flows this worker holds in `band`, in its round-robin order),
  // the index of the one served least gateway-wide (the first of equals); -1 when
  // that one is more than kSlack ahead of a flow waiting elsewhere.
  ptrdiff_t pick(int32_t band, std::span<const std::string_view> flows);

  // Requests waiting anywhere (lock-free: the enqueue fast path reads it).
  uint64_t waiting() const { return waiting_.load(std::memory_order_acquire); }
  // For tests and /debug/flow: the served count of a waiting flow (0 if none waits).
  uint64_t served(int32_t band, std::string_view flow) const;
  size_t flows() const;

 private:
  struct FlowState {
    uint64_t served = 0;
    uint64_t waiting = 0;
  };
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct Band {
    std::unordered_map<std::string, FlowState, NameHash, std::equal_to<>> flows;
    std::multiset<uint64_t> served;  // one per flow in `flows`: the floor is begin()
  };

  mutable std::mutex mutex_;
  std::map<int32_t, Band> bands_;
  std::atomic<uint64_t> waiting_{0};
};

}  // namespace ringgate::proxy
