#include "ringgate/net/timeout_list.h"

namespace ringgate::net {

void Timer::cancel() {
  if (list_ != nullptr) list_->unlink(*this);
}

void TimeoutList::append(Timer& timer, uint64_t now_ms) {
  timer.list_ = this;
  timer.expires_at_ = now_ms + duration_ms_;
  timer.prev_ = tail_;
  timer.next_ = nullptr;
  if (tail_) tail_->next_ = &timer;
  else head_ = &timer;
  tail_ = &timer;
}

void TimeoutList::unlink(Timer& timer) {
  if (timer.prev_) timer.prev_->next_ = timer.next_;
  else head_ = timer.next_;
  if (timer.next_) timer.next_->prev_ = timer.prev_;
  else tail_ = timer.prev_;
  timer.prev_ = timer.next_ = nullptr;
  timer.list_ = nullptr;
}

TimeoutList& Timers::list_for(uint64_t duration_ms) {
  for (auto& list : lists_) {
    if (list->duration_ms() == duration_ms) return *list;
  }
  lists_.push_back(std::make_unique<TimeoutList>(duration_ms));
  return *lists_.back();
}

void Timers::arm(Timer& timer, uint64_t duration_ms, uint64_t now_ms) {
  timer.cancel();
  if (duration_ms == 0) return;
  list_for(duration_ms).append(timer, now_ms);
}

uint64_t Timers::next_expiry() const {
  uint64_t next = UINT64_MAX;
  for (const auto& list : lists_) next = list->next_expiry() < next ? list->next_expiry() : next;
  return next;
}

void Timers::run(uint64_t now_ms) {
  for (size_t i = 0; i < lists_.size(); ++i) {  // callbacks may add lists: index, not iterator
    TimeoutList& list = *lists_[i];
    // Only what was due on entry: a callback re-arming into this list lands at now + duration.
    while (list.head_ != nullptr && list.head_->expires_at_ <= now_ms) {
      Timer& timer = *list.head_;
      list.unlink(timer);
      timer.target_->on_timer(timer);
    }
  }
}

}  // namespace ringgate::net
