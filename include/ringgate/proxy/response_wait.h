#pragma once
// A request naming a Responses API response that this gateway replica does not know yet,
// while replicas share state (sharedState): the replica that routed the request which made
// the response tells this one within a sync or two (control/shared_responses.h), so the
// request waits up to that long (ProxyOptions::response_wait_ms), looking again every
// kPollMs, and goes on as soon as the response is placed or the wait is over (then it is
// routed as an unknown one is). Waiting holds no worker: a timer, one lookup a poll.
#include <cstdint>

#include "ringgate/net/timeout_list.h"
#include "ringgate/proxy/response_affinity.h"

namespace ringgate::proxy {

class ResponseWaiter {
 public:
  virtual ~ResponseWaiter() = default;
  // The wait is over: `found`, the affinity is pinned now; else the time ran out.
  virtual void response_wait_over(bool found) = 0;
};

class ResponseWait final : public net::TimerTarget {
 public:
  static constexpr uint64_t kPollMs = 2;

  explicit ResponseWait(ResponseWaiter& owner) : owner_(owner) {}
  ResponseWait(const ResponseWait&) = delete;
  ResponseWait& operator=(const ResponseWait&) = delete;

  // Whether `affinity`'s request should wait (`wait_ms` 0: never); if so, the wait starts.
  bool begin(ResponseAffinity& affinity, net::Timers& timers, uint64_t now_ms, uint64_t wait_ms);
  bool waiting() const { return timer_.armed(); }
  void cancel() { timer_.cancel(); }
  void on_timer(net::Timer& timer) override;

 private:
  ResponseWaiter& owner_;
  ResponseAffinity* affinity_ = nullptr;
  net::Timers* timers_ = nullptr;
  uint64_t polls_left_ = 0;
  net::Timer timer_{this, 0};
};

}  // namespace ringgate::proxy
