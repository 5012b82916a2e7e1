#include "ringgate/discovery/abort_signal.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace ringgate::discovery {

AbortSignal::AbortSignal() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

AbortSignal::~AbortSignal() {
  if (fd_ >= 0) ::close(fd_);
}

void AbortSignal::trigger() {
  if (fd_ < 0) return;
  std::uint64_t one = 1;
  // The counter is never read, so it stays non-zero and the fd stays readable.
  [[maybe_unused]] ssize_t n = ::write(fd_, &one, sizeof one);
}

bool AbortSignal::triggered() const {
  if (fd_ < 0) return false;
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

bool AbortSignal::sleep_for(std::chrono::milliseconds duration) const {
  if (fd_ < 0) {
    ::usleep(static_cast<useconds_t>(duration.count()) * 1000);
    return true;
  }
  pollfd p{fd_, POLLIN, 0};
  int rc;
  do {
    rc = ::poll(&p, 1, static_cast<int>(duration.count()));
  } while (rc < 0 && errno == EINTR);  // an EINTR cuts the sleep short; fine for backoff
  return !(rc > 0 && (p.revents & POLLIN));
}

}  // namespace ringgate::discovery
