#include "ringgate/net/ring.h"

#include <cerrno>
#include <cstring>

namespace ringgate::net {

Ring::~Ring() {
  if (ready_) io_uring_queue_exit(&ring_);
}

std::string Ring::init(const RingOptions& options) {
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  params.cq_entries = options.sq_entries * options.cq_factor;
  int rc = io_uring_queue_init_params(options.sq_entries, &ring_, &params);
  if (rc == -EINVAL) {
    // Kernels before 6.1 lack DEFER_TASKRUN (and before 6.0 SINGLE_ISSUER).
    params = io_uring_params{};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = options.sq_entries * options.cq_factor;
    rc = io_uring_queue_init_params(options.sq_entries, &ring_, &params);
  } else if (rc == 0) {
    defer_taskrun_ = true;
  }
  if (rc < 0) {
    if (rc == -EPERM || rc == -ENOSYS) {
      return std::string("io_uring is not available (") + std::strerror(-rc) +
             "): a seccomp profile (e.g. a container runtime's default) or "
             "kernel.io_uring_disabled blocks it; use --io-backend auto or epoll";
    }
    return std::string("io_uring_queue_init: ") + std::strerror(-rc);
  }
  ready_ = true;
  return {};
}

io_uring_sqe* Ring::sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

int Ring::submit_and_wait() { return io_uring_submit_and_wait(&ring_, 1); }
int Ring::submit() { return io_uring_submit(&ring_); }

uint32_t Ring::cq_overflow() const {
  return ring_.cq.koverflow ? __atomic_load_n(ring_.cq.koverflow, __ATOMIC_RELAXED) : 0;
}

}  // namespace ringgate::net
