#pragma once
// Holding while no server serves a model (a pool scaled to zero, llm-d's noEndpointRequestTTL):
// a request whose route found no ready server for its model waits here instead of being
// answered 503, until a server appears or its wait runs out.
//
// One FlowQueue per held model (priority bands, fairness, FIFO within a flow, as flow
// control orders them), so that a model with no server waits while other models flow: a
// queue's dispatch cycle stops at its first request that still cannot go, and that stops
// only its own model. (A skip result in the one queue's protocol would have had every
// dispatch cycle walk past every held request of every model at zero.)
//
// Bounds: the flow-control band caps apply to each model's queue, the total caps to all of
// them together, and at most kMaxModels model names are held at once (the client chooses
// them): past any, the request is refused (503 at once). One ModelHold per worker, no lock.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/metrics/held_models.h"
#include "ringgate/proxy/flow_queue.h"

namespace ringgate::proxy {

class ModelHold {
 public:
  static constexpr size_t kMaxModels = metrics::HeldModels::kSlots;

  ModelHold() = default;
  ModelHold(const ModelHold&) = delete;
  ModelHold& operator=(const ModelHold&) = delete;

  // Holds `waiter` for `model`; no dispatch is offered now (the caller just found no
  // server). The queue it waits in (for FlowQueue::remove), or null: refused, nothing held.
  FlowQueue* hold(FlowWaiter* waiter, std::string_view model, int32_t priority, std::string_view flow_id,
                  uint64_t bytes, const FlowLimits& limits, uint64_t now_ms);
  // Offers each model's queue a dispatch cycle (each stops at its first request that
  // still cannot go).
  void dispatch();
  // Evicts what waited `ttl_ms` (EvictedTTL: the waiter tells which outcome it was), then dispatches.
  void expire(uint64_t now_ms, uint64_t ttl_ms);

  // Where each held model's name and count are published (the worker's statistics); null: nowhere.
  void publish_to(metrics::HeldModels* published) { published_ = published; }
  // Writes each held model's count now (requests leave a queue without this class: a
  // client gone). Each worker turn while anything is or was held.
  void publish();

  bool empty() const;
  uint64_t size() const;
  uint64_t bytes() const;
  size_t models() const { return queues_.size(); }  // models with a queue (empty ones until the next cycle)

 private:
  struct Held {
    std::string model;
    std::unique_ptr<FlowQueue> queue;  // stable: Admission keeps a pointer while its request waits
    size_t slot = 0;                   // its HeldModels slot
  };
  // Drops the queues that emptied (never during a cycle: a callback may hold a pointer).
  void compact();

  std::vector<Held> queues_;
  bool cycling_ = false;
  metrics::HeldModels* published_ = nullptr;
  std::array<bool, kMaxModels> slot_used_{};
};

}  // namespace ringgate::proxy
