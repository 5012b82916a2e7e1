// The io_uring backend: multishot accept, multishot recv from a provided-buffer ring,
// sendmsg/send/connect, cancel by fd. A multishot operation can end without an error
// (no IORING_CQE_F_MORE: ENOBUFS, CQ overflow, ...): the final completion says so and
// the handler re-arms. One ring per worker thread (SINGLE_ISSUER + DEFER_TASKRUN).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ringgate/net/buffer_ring.h"
#include "ringgate/net/io_backend.h"
#include "ringgate/net/loop.h"
#include "ringgate/net/ring.h"

namespace ringgate::net {

namespace {

constexpr uint64_t kOpMask = 15;
constexpr uint16_t kBufferGroup = 1;
constexpr int kRingTickMs = 100;
constexpr uint64_t kTickTag = 1;  // no handler is at address 0: the timer tick's own CQEs

uint64_t tag(IoHandler* h, IoOp op) { return reinterpret_cast<uintptr_t>(h) | uint64_t(op); }

class UringBackend final : public IoBackend {
 public:
  std::string init(const LoopOptions& options) override {
    RingOptions ring_options;
    ring_options.sq_entries = options.sq_entries;
    ring_options.cq_factor = options.cq_factor;
    if (std::string error = ring_.init(ring_options); !error.empty()) return error;
    return buffers_.init(ring_.raw(), kBufferGroup, options.buffer_count, options.buffer_size);
  }

  void accept_multishot(int fd, IoHandler* h) override {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_multishot_accept(sqe, fd, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, tag(h, IoOp::Accept));
  }
  void cancel_accept(int, IoHandler* h) override {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_cancel64(sqe, tag(h, IoOp::Accept), 0);
    io_uring_sqe_set_data64(sqe, tag(h, IoOp::Cancel));
  }
  void recv_multishot(int fd, IoHandler* h) override {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufferGroup;
    io_uring_sqe_set_data64(sqe, tag(h, IoOp::Recv));
  }
  void cancel_recv(int, IoHandler* h) override {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_cancel64(sqe, tag(h, IoOp::Recv), 0);
    io_uring_sqe_set_data64(sqe, tag(h, IoOp::Cancel));
  }
  void recv_into(int fd, char* buffer, size_t len, bool wait_all, IoHandler* h) override {
    io_uring_sqe* sqe = ring_.sqe();
    // MSG_WAITALL: the kernel retries short receives itself (no CQE, no new SQE each).
    io_uring_prep_recv(sqe, fd, buffer, len, wait_all ? MSG_WAITALL : 0);
    io_uring_sqe_set_data64(sqe, tag(h, IoOp::RecvInto));
  }
  void cancel_recv_into(int, IoHandler* h) override {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_cancel64(sqe, tag(h, IoOp::RecvInto), 0);
    io_uring_sqe_set_data64(sqe, tag(h, IoOp::Cancel));
  }
  void send(int fd, const void* data, size_t len, IoHandler* h) override {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_send(sqe, fd, data, len, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, tag(h, IoOp::Send));
  }
  void sendmsg(int fd, const msghdr* msg, IoHandler* h) override {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_sendmsg(sqe, fd, msg, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, tag(h, IoOp::SendMsg));
  }
  void connect(int fd, const sockaddr* address, socklen_t length, IoHandler* h) override {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_connect(sqe, fd, address, length);
    io_uring_sqe_set_data64(sqe, tag(h, IoOp::Connect));
  }
  void cancel_fd(int fd, IoHandler* h) override {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, tag(h, IoOp::Cancel));
  }

  int wait(int timeout_ms, Loop& loop) override {
    int rc;
    if (timeout_ms < 0) {
      rc = io_uring_submit_and_wait(ring_.raw(), 1);
    } else if (timeout_ms == 0) {
      rc = io_uring_submit(ring_.raw());
      // DEFER_TASKRUN: completions are only posted when we ask the kernel.
      if (rc >= 0 && ring_.defer_taskrun() && io_uring_cq_ready(ring_.raw()) == 0) {
        io_uring_get_events(ring_.raw());
      }
    } else {
      // Timers are served by one kernel timeout op of at most kRingTickMs in flight, armed
      // once per tick, not a timeout per wait (each would program a timer: costly in
      // a VM). A timer fires at most kRingTickMs late.
      if (!tick_armed_) {
        const int ms = timeout_ms < kRingTickMs ? timeout_ms : kRingTickMs;
        tick_spec_.tv_sec = 0;
        tick_spec_.tv_nsec = ms * 1000000LL;
        io_uring_sqe* sqe = ring_.sqe();
        io_uring_prep_timeout(sqe, &tick_spec_, 0, 0);
        io_uring_sqe_set_data64(sqe, kTickTag);
        tick_armed_ = true;
      }
      rc = io_uring_submit_and_wait(ring_.raw(), 1);
    }
    if (rc < 0 && rc != -EINTR && rc != -ETIME && rc != -EBUSY && rc != -EAGAIN) return rc;
    loop.begin_turn();
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(ring_.raw(), head, cqe) {
      const uint64_t user_data = cqe->user_data;
      const int32_t res = cqe->res;
      const uint32_t flags = cqe->flags;
      ++seen;
      if (user_data == kTickTag) tick_armed_ = false;
      else if (user_data != 0) dispatch(user_data, res, flags, loop);
      if (seen >= 256) break;  // bounded batch: let the CQ head move
    }
    io_uring_cq_advance(ring_.raw(), seen);
    return 0;
  }

  uint64_t overflows() const override { return ring_.cq_overflow(); }

 private:
  void dispatch(uint64_t user_data, int32_t res, uint32_t flags, Loop& loop) {
    auto* h = reinterpret_cast<IoHandler*>(user_data & ~kOpMask);
    Completion c{IoOp(user_data & kOpMask), res, (flags & IORING_CQE_F_MORE) != 0, nullptr,
                 (flags & IORING_CQE_F_SOCK_NONEMPTY) != 0};
    if (c.op == IoOp::Recv && (flags & IORING_CQE_F_BUFFER)) {
      const uint16_t buffer_id = uint16_t(flags >> IORING_CQE_BUFFER_SHIFT);
      c.data = buffers_.data(buffer_id);
      if (res <= 0) c.data = nullptr;
      loop.deliver(h, c);
      buffers_.give_back(buffer_id);  // the handler consumed (or copied) the bytes
      return;
    }
    loop.deliver(h, c);
  }

  Ring ring_;
  BufferRing buffers_;
  __kernel_timespec tick_spec_{};
  bool tick_armed_ = false;
};

}  // namespace

std::unique_ptr<IoBackend> make_uring_backend() { return std::make_unique<UringBackend>(); }

std::string io_uring_refusal() {
  if (int fd = open("/proc/sys/kernel/io_uring_disabled", O_RDONLY | O_CLOEXEC); fd >= 0) {
    char value[8] = {};
    const ssize_t n = read(fd, value, sizeof value - 1);
    close(fd);
    // 1 = only the io_uring_group may use it (we may still get in), 2 = off for all.
    if (n > 0 && value[0] == '2') return "kernel.io_uring_disabled=2";
  }
  io_uring ring{};
  const int rc = io_uring_queue_init(4, &ring, 0);
  if (rc == 0) {
    io_uring_queue_exit(&ring);
    return {};
  }
  return std::string("io_uring_setup: ") + std::strerror(-rc);
}

}  // namespace ringgate::net
