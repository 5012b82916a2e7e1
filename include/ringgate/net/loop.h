#pragma once
// One event loop per worker thread: a backend (io_uring or epoll) for socket
// operations, per-duration timeout lists for timers, and deferred deletion of
// handlers. Operations complete through IoHandler::on_completion, never re-entrantly
// from the call that submitted them.
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ringgate/net/io_backend.h"
#include "ringgate/net/io_handler.h"
#include "ringgate/net/timeout_list.h"

namespace ringgate::net {

class Loop {
 public:
  Loop() = default;
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // options.backend must be IoUring or Epoll. Empty string = success.
  std::string init(const LoopOptions& options);
  BackendKind backend() const { return kind_; }

  void accept(int fd, IoHandler* h) { submit(h); backend_->accept_multishot(fd, h); }
  void cancel_accept(int fd, IoHandler* h) { submit(h); backend_->cancel_accept(fd, h); }
  void recv(int fd, IoHandler* h) { submit(h); backend_->recv_multishot(fd, h); }
  void cancel_recv(int fd, IoHandler* h) { submit(h); backend_->cancel_recv(fd, h); }
  // A receive straight into the handler's memory: `buffer` must stay put (not freed,
  // not reallocated) until its final completion.
  void recv_into(int fd, char* buffer, size_t len, bool wait_all, IoHandler* h) {
    submit(h);
    backend_->recv_into(fd, buffer, len, wait_all, h);
  }
  void cancel_recv_into(int fd, IoHandler* h) { submit(h); backend_->cancel_recv_into(fd, h); }
  void send(int fd, const void* data, size_t len, IoHandler* h) { submit(h); backend_->send(fd, data, len, h); }
  // The msghdr, its iovec array and the bytes they name must stay put until the final
  // completion (the io_uring kernel side reads them asynchronously).
  void sendmsg(int fd, const msghdr* msg, IoHandler* h) { submit(h); backend_->sendmsg(fd, msg, h); }
  void connect(int fd, const sockaddr* a, socklen_t n, IoHandler* h) { submit(h); backend_->connect(fd, a, n, h); }
  // Every fd a backend has seen must go through cancel_fd before close(): the epoll
  // backend forgets its registration there (a reused fd number starts afresh).
  void cancel_fd(int fd, IoHandler* h) { submit(h); backend_->cancel_fd(fd, h); }

  // h->on_turn_end() once this turn's completions and timers have run, before the next
  // wait submits what they prepared: work that should see all the turn brought (a send
  // of every byte several receives of one turn produced, not of the first one's).
  void at_turn_end(IoHandler* h);

  // The handler gets no more completions; it is deleted once none is pending.
  void retire(IoHandler* h);
  // The loop has stopped for good: delete every retired handler now, pending or not
  // (no completion will come). Call while what their destructors use is still alive.
  void drop_retired();

  Timers& timers() { return timers_; }
  uint64_t now_ms() const { return now_ms_; }
  void update_time();

  // One turn: wait for completions (no longer than the next timer or max_wait_ms),
  // dispatch them, fire due timers, free retired handlers. < 0 = fatal backend error.
  int run_once(int max_wait_ms);

  uint64_t overflows() const { return backend_ ? backend_->overflows() : 0; }

  // Called at the start of every turn, after the wait and before any completion is
  // delivered (a worker adopts newly published state there, as the old loop did).
  void set_turn_hook(std::function<void()> hook) { turn_hook_ = std::move(hook); }

  // Backends: the wait returned; completions follow.
  void begin_turn() {
    update_time();
    if (turn_hook_) turn_hook_();
  }
  // Backends: one completion for `h`.
  void deliver(IoHandler* h, const Completion& completion);

 private:
  void submit(IoHandler* h) { ++h->pending_ops_; }
  void free_retired();
  void run_turn_end();
  void queue_delete(IoHandler* h);

  std::unique_ptr<IoBackend> backend_;
  BackendKind kind_ = BackendKind::IoUring;
  Timers timers_;
  uint64_t now_ms_ = 0;
  std::vector<IoHandler*> to_delete_;
  std::vector<IoHandler*> turn_end_, turn_end_running_;
  IoHandler* waiting_ = nullptr;  // retired, operations still pending
  std::function<void()> turn_hook_;
};

// CLOCK_MONOTONIC_COARSE in milliseconds (what every deadline is measured in).
uint64_t monotonic_ms();

}  // namespace ringgate::net
