#pragma once
// A one-shot, thread-safe stop signal that blocking I/O can wait on.
//
// Why an eventfd and not just shutdown(2): it also wakes a connect() in
// progress, a TLS handshake and a backoff sleep, and it cannot race with the
// socket being closed and its fd number reused.
#include <chrono>

namespace ringgate::discovery {

class AbortSignal {
 public:
  AbortSignal();
  ~AbortSignal();
  AbortSignal(const AbortSignal&) = delete;
  AbortSignal& operator=(const AbortSignal&) = delete;

  // Idempotent; callable from any thread. Once triggered, stays triggered.
  void trigger();
  bool triggered() const;
  // Becomes (and stays) readable once triggered; for poll(2). -1 if eventfd failed.
  int fd() const { return fd_; }
  // Sleeps up to `duration`; returns false if the signal was triggered.
  bool sleep_for(std::chrono::milliseconds duration) const;

 private:
  int fd_ = -1;
};

}  // namespace ringgate::discovery
