#include "ringgate/net/loop.h"

#include <time.h>

namespace ringgate::net {

uint64_t monotonic_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

bool parse_backend_kind(std::string_view text, BackendKind& out) {
  if (text == "auto") out = BackendKind::Auto;
  else if (text == "io_uring" || text == "io-uring" || text == "iouring") out = BackendKind::IoUring;
  else if (text == "epoll") out = BackendKind::Epoll;
  else return false;
  return true;
}

const char* backend_kind_name(BackendKind kind) {
  switch (kind) {
    case BackendKind::Auto: return "auto";
    case BackendKind::IoUring: return "io_uring";
    case BackendKind::Epoll: return "epoll";
  }
  return "?";
}

namespace {
BackendChoice g_choice;
}

const BackendChoice& chosen_backend() { return g_choice; }

std::string choose_backend(BackendKind requested, BackendChoice& out) {
  out = BackendChoice{};
  if (requested == BackendKind::Epoll) {
    out.kind = BackendKind::Epoll;
  } else {
    const std::string refusal = io_uring_refusal();
    if (!refusal.empty()) {
      if (requested == BackendKind::IoUring) {
        return "io_uring was requested (--io-backend io_uring) but is refused: " + refusal +
               " (a seccomp profile such as a container runtime's default, or kernel.io_uring_disabled); "
               "use --io-backend auto or epoll";
      }
      out.kind = BackendKind::Epoll;
      out.reason = refusal;
    }
  }
  g_choice = out;  // once, before any worker starts
  return {};
}

Loop::~Loop() {
  drop_retired();
  backend_.reset();
}

void Loop::drop_retired() {
  free_retired();
  while (waiting_ != nullptr) {
    IoHandler* h = waiting_;
    waiting_ = h->retired_next_;
    h->retired_prev_ = h->retired_next_ = nullptr;
    h->pending_ops_ = 0;
    h->queued_for_delete_ = true;
    delete h;  // may retire more: they join waiting_ or to_delete_
    free_retired();
  }
}

void Loop::queue_delete(IoHandler* h) {
  // Off the waiting list, onto the delete list (freed at the end of the turn).
  if (h->retired_prev_) h->retired_prev_->retired_next_ = h->retired_next_;
  else if (waiting_ == h) waiting_ = h->retired_next_;
  if (h->retired_next_) h->retired_next_->retired_prev_ = h->retired_prev_;
  h->retired_prev_ = h->retired_next_ = nullptr;
  h->queued_for_delete_ = true;
  to_delete_.push_back(h);
}

std::string Loop::init(const LoopOptions& options) {
  kind_ = options.backend;
  backend_ = kind_ == BackendKind::Epoll ? make_epoll_backend() : make_uring_backend();
  update_time();
  return backend_->init(options);
}

void Loop::update_time() { now_ms_ = monotonic_ms(); }

void Loop::retire(IoHandler* h) {
  if (h->retired_) return;
  h->retired_ = true;
  if (h->pending_ops_ == 0) return queue_delete(h);
  h->retired_next_ = waiting_;
  if (waiting_) waiting_->retired_prev_ = h;
  waiting_ = h;
}

void Loop::deliver(IoHandler* h, const Completion& completion) {
  if (!completion.more) --h->pending_ops_;
  if (!h->retired_) h->on_completion(completion);
  if (h->retired_ && h->pending_ops_ == 0 && !h->queued_for_delete_) queue_delete(h);
}

void Loop::free_retired() {
  // Deleting may retire more handlers (a destructor closing what it owns): loop.
  while (!to_delete_.empty()) {
    std::vector<IoHandler*> batch;
    batch.swap(to_delete_);
    for (IoHandler* h : batch) delete h;
  }
}

void Loop::at_turn_end(IoHandler* h) {
  if (h->turn_end_queued_) return;
  h->turn_end_queued_ = true;
  turn_end_.push_back(h);
}

// Handlers are freed only in free_retired(), after this: every one listed is alive.
void Loop::run_turn_end() {
  while (!turn_end_.empty()) {
    turn_end_running_.swap(turn_end_);
    for (IoHandler* h : turn_end_running_) {
      h->turn_end_queued_ = false;
      if (!h->retired_) h->on_turn_end();
    }
    turn_end_running_.clear();
  }
}

int Loop::run_once(int max_wait_ms) {
  int timeout = max_wait_ms;
  const uint64_t next = timers_.next_expiry();
  if (next != UINT64_MAX) {
    const uint64_t wait = next > now_ms_ ? next - now_ms_ : 0;
    if (timeout < 0 || wait < uint64_t(timeout)) timeout = int(wait);
  }
  if (!to_delete_.empty()) timeout = 0;
  const int rc = backend_->wait(timeout, *this);
  update_time();
  timers_.run(now_ms_);
  run_turn_end();
  free_retired();
  return rc;
}

}  // namespace ringgate::net
