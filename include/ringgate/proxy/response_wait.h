#pragma once
// A request naming a Responses API response that this gateway replica does not know yet,
// while replicas share state (sharedState): the replica that routed the request which made
// the response tells this one within a sync or two (control/shared_responses.h), so the
// request waits up to that long (ProxyOptions::response_wait_ms) and goes on as soon as
// the response is placed or the wait is over (then it is routed as an unknown one is).
// Waiting holds no worker and looks nothing up meanwhile: the worker's ResponseWaiters
// (proxy/response_waiters.h) wake the wait when its id arrives, one timer ends it.
#include <cstdint>

#include "ringgate/net/timeout_list.h"
#include "ringgate/proxy/response_affinity.h"

namespace ringgate::proxy {

class ResponseWaiters;

class ResponseWaiter {
 public:
  virtual ~ResponseWaiter() = default;
  // The wait is over: `found`, the affinity is pinned now; else the time ran out.
  virtual void response_wait_over(bool found) = 0;
};

class ResponseWait final : public net::TimerTarget {
 public:
  explicit ResponseWait(ResponseWaiter& owner) : owner_(owner) {}
  ~ResponseWait() override { cancel(); }
  ResponseWait(const ResponseWait&) = delete;
  ResponseWait& operator=(const ResponseWait&) = delete;

  // Whether `affinity`'s request should wait (`wait_ms` 0: never); if so, the wait starts.
  // `waiters`: the worker's, which wake it when the id arrives (null: nothing does; the
  // wait ends at its bound, with one last look).
  bool begin(ResponseAffinity& affinity, ResponseWaiters* waiters, net::Timers& timers, uint64_t now_ms,
             uint64_t wait_ms);
  bool waiting() const { return timer_.armed(); }
  void cancel();
  void on_timer(net::Timer& timer) override;

 private:
  friend class ResponseWaiters;
  // ResponseWaiters: the id may have arrived; true: pinned now.
  bool look_again() { return affinity_->find_again(); }
  // ResponseWaiters: it arrived (this wait is off their lists already).
  void found();

  ResponseWaiter& owner_;
  ResponseAffinity* affinity_ = nullptr;
  ResponseWaiters* waiters_ = nullptr;  // while on their lists
  net::Timer timer_{this, 0};
  // ResponseWaiters' intrusive lists (a bucket, or the ready list).
  uint64_t hash_ = 0;
  ResponseWait* next_ = nullptr;
  ResponseWait** pprev_ = nullptr;
};

}  // namespace ringgate::proxy
