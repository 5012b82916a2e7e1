#include "ringgate/proxy/response_waiters.h"

#include <sys/socket.h>

#include <cerrno>

#include "ringgate/net/loop.h"
#include "ringgate/proxy/response_wait.h"

namespace ringgate::proxy {

void ResponseWaiters::link(ResponseWait*& head, ResponseWait& wait) {
  wait.next_ = head;
  if (head != nullptr) head->pprev_ = &wait.next_;
  head = &wait;
  wait.pprev_ = &head;
}

void ResponseWaiters::unlink(ResponseWait& wait) {
  *wait.pprev_ = wait.next_;
  if (wait.next_ != nullptr) wait.next_->pprev_ = wait.pprev_;
  wait.next_ = nullptr;
  wait.pprev_ = nullptr;
}

void ResponseWaiters::add(ResponseWait& wait) {
  link(buckets_[wait.hash_ % kBuckets], wait);
  wait.waiters_ = this;
  ++count_;
  if (inbox_ != nullptr) inbox_->waiters.store(uint32_t(count_), std::memory_order_seq_cst);
}

void ResponseWaiters::remove(ResponseWait& wait) {
  unlink(wait);
  wait.waiters_ = nullptr;
  --count_;
  if (inbox_ != nullptr) inbox_->waiters.store(uint32_t(count_), std::memory_order_relaxed);
}

void ResponseWaiters::start(net::Loop& loop) {
  if (inbox_ == nullptr || inbox_->wake_fds[0] < 0) return;
  loop_ = &loop;
  arm();
}

void ResponseWaiters::stop() {
  if (loop_ != nullptr) ::shutdown(inbox_->wake_fds[0], SHUT_RD);
  loop_ = nullptr;
}

void ResponseWaiters::arm() { loop_->recv_into(inbox_->wake_fds[0], buffer_, sizeof buffer_, false, this); }

void ResponseWaiters::on_completion(const net::Completion& c) {
  if (c.op != net::IoOp::RecvInto) return;
  if (loop_ != nullptr && (c.res > 0 || c.res == -EAGAIN || c.res == -EINTR)) {
    take_arrivals();
    arm();
  }
  // 0 (the control side closed) or an error (cancelled at shutdown): nothing more comes.
}

// The waits in `head` whose id hashes to `hash` (any: every one) and is placed now move
// to the ready list.
void ResponseWaiters::look_again(ResponseWait*& head, uint64_t hash, bool any) {
  for (ResponseWait* w = head; w != nullptr;) {
    ResponseWait* next = w->next_;
    if ((any || w->hash_ == hash) && w->look_again()) {
      unlink(*w);
      link(ready_, *w);
    }
    w = next;
  }
}

void ResponseWaiters::take_arrivals() {
  if (inbox_ == nullptr) return;
  inbox_->hashes.drain([&](uint64_t hash) {
    if (count_ != 0) look_again(buckets_[hash % kBuckets], hash, false);
  });
  if (inbox_->overflowed.exchange(false, std::memory_order_acq_rel))
    for (ResponseWait*& head : buckets_) look_again(head, 0, true);
  // One at a time: an owner going on may end another ready wait (cancel() unlinks it).
  while (ready_ != nullptr) {
    ResponseWait& wait = *ready_;
    remove(wait);
    wait.found();
  }
}

}  // namespace ringgate::proxy
