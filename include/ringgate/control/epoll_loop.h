#pragma once
// The control thread's event loop. The control plane is not the hot path: a few
// scrapes per endpoint per second, admin requests and discovery events, so plain
// epoll keeps it simple and leaves io_uring to the data-path workers.
#include <cstdint>

namespace ringgate::control {

class EpollHandler {
 public:
  virtual void on_event(uint32_t events) = 0;

 protected:
  ~EpollHandler() = default;
};

class EpollLoop {
 public:
  EpollLoop();
  ~EpollLoop();
  EpollLoop(const EpollLoop&) = delete;
  EpollLoop& operator=(const EpollLoop&) = delete;

  bool ok() const { return fd_ >= 0; }
  bool add(int fd, uint32_t events, EpollHandler* handler);
  bool modify(int fd, uint32_t events, EpollHandler* handler);
  void remove(int fd);
  // Waits up to timeout_ms and dispatches ready handlers; returns how many ran.
  // A handler may remove (and close) its own fd while being dispatched.
  int run_once(int timeout_ms);

 private:
  int fd_ = -1;
};

}  // namespace ringgate::control
