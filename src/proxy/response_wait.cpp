#include "ringgate/proxy/response_wait.h"

namespace ringgate::proxy {

bool ResponseWait::begin(ResponseAffinity& affinity, net::Timers& timers, uint64_t now_ms, uint64_t wait_ms) {
  timer_.cancel();
  if (wait_ms == 0 || !affinity.unplaced()) return false;
  affinity_ = &affinity;
  timers_ = &timers;
  // One duration for every poll: the worker's timers keep one list per duration.
  polls_left_ = (wait_ms + kPollMs - 1) / kPollMs;
  timers_->arm(timer_, kPollMs, now_ms);
  return true;
}

void ResponseWait::on_timer(net::Timer& timer) {
  if (affinity_->find_again()) return owner_.response_wait_over(true);
  if (--polls_left_ == 0) return owner_.response_wait_over(false);
  timers_->arm(timer_, kPollMs, timer.expires_at());
}

}  // namespace ringgate::proxy
