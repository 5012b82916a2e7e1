#include "ringgate/control/epoll_loop.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>

namespace ringgate::control {

EpollLoop::EpollLoop() : fd_(epoll_create1(EPOLL_CLOEXEC)) {}

EpollLoop::~EpollLoop() {
  if (fd_ >= 0) close(fd_);
}

bool EpollLoop::add(int fd, uint32_t events, EpollHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return epoll_ctl(fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool EpollLoop::modify(int fd, uint32_t events, EpollHandler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return epoll_ctl(fd_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void EpollLoop::remove(int fd) { epoll_ctl(fd_, EPOLL_CTL_DEL, fd, nullptr); }

int EpollLoop::run_once(int timeout_ms) {
  epoll_event events[64];
  int n = epoll_wait(fd_, events, 64, timeout_ms);
  if (n < 0) return errno == EINTR ? 0 : -1;
  for (int i = 0; i < n; ++i) static_cast<EpollHandler*>(events[i].data.ptr)->on_event(events[i].events);
  return n;
}

}  // namespace ringgate::control
