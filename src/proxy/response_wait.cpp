#include "ringgate/proxy/response_wait.h"

#include "ringgate/proxy/response_arrivals.h"
#include "ringgate/proxy/response_waiters.h"

namespace ringgate::proxy {

bool ResponseWait::begin(ResponseAffinity& affinity, ResponseWaiters* waiters, net::Timers& timers, uint64_t now_ms,
                         uint64_t wait_ms) {
  cancel();
  if (wait_ms == 0 || !affinity.unplaced()) return false;
  affinity_ = &affinity;
  if (waiters != nullptr) {
    hash_ = ResponseArrivals::hash(affinity.id());
    waiters->add(*this);
    // Registered first, then looked up: an id learned before the control thread could
    // see this wait is in the table now (response_arrivals.h, "Ordering").
    if (affinity.find_again()) {
      waiters->remove(*this);
      return false;
    }
  }
  timers.arm(timer_, wait_ms, now_ms);
  return true;
}

void ResponseWait::cancel() {
  timer_.cancel();
  if (waiters_ != nullptr) waiters_->remove(*this);
}

void ResponseWait::on_timer(net::Timer&) {
  if (waiters_ != nullptr) waiters_->remove(*this);
  owner_.response_wait_over(affinity_->find_again());
}

void ResponseWait::found() {
  timer_.cancel();
  owner_.response_wait_over(true);
}

}  // namespace ringgate::proxy
