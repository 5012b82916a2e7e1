#include "ringgate/proxy/response_arrivals.h"

#include <sys/socket.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstring>

namespace ringgate::proxy {

ResponseArrivals::ResponseArrivals(size_t workers) : count_(workers), inboxes_(std::make_unique<Inbox[]>(workers)) {
  for (size_t i = 0; i < count_; ++i) {
    Inbox& inbox = inboxes_[i];
    inbox.hashes.enable(kRingSize);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, inbox.wake_fds) != 0) {
      inbox.wake_fds[0] = inbox.wake_fds[1] = -1;
      if (error_.empty()) error_ = std::string("socketpair: ") + std::strerror(errno);
    }
  }
}

ResponseArrivals::~ResponseArrivals() {
  for (size_t i = 0; i < count_; ++i)
    for (const int fd : inboxes_[i].wake_fds)
      if (fd >= 0) ::close(fd);
}

uint64_t ResponseArrivals::hash(std::string_view id) { return XXH3_64bits(id.data(), id.size()); }

void ResponseArrivals::arrived(std::string_view id) {
  uint64_t h = 0;
  for (size_t i = 0; i < count_; ++i) {
    Inbox& inbox = inboxes_[i];
    if (inbox.waiters.load(std::memory_order_seq_cst) == 0) continue;
    if (h == 0) h = hash(id);
    if (uint64_t* slot = inbox.hashes.claim()) {
      *slot = h;
      inbox.hashes.commit();
      ++announced_;
    } else {
      inbox.overflowed.store(true, std::memory_order_release);
    }
    inbox.announced = true;
  }
}

void ResponseArrivals::wake() {
  for (size_t i = 0; i < count_; ++i) {
    Inbox& inbox = inboxes_[i];
    if (!inbox.announced) continue;
    inbox.announced = false;
    // A full socket (the worker has not read yet) has a byte waiting already: dropped.
    const char byte = 1;
    if (inbox.wake_fds[1] < 0) continue;
    [[maybe_unused]] const ssize_t n = ::send(inbox.wake_fds[1], &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  }
}

}  // namespace ringgate::proxy
