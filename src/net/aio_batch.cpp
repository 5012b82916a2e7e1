#include "ringgate/net/aio_batch.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace ringgate::net {

namespace {

// The completion ring the kernel maps at the context's address (fs/aio.c).
struct AioRing {
  unsigned id;
  unsigned nr;
  unsigned head;
  unsigned tail;
  unsigned magic;
  unsigned compat_features;
  unsigned incompat_features;
  unsigned header_length;
  io_event events[];
};
constexpr unsigned kRingMagic = 0xa10a10a1;

}  // namespace

AioBatch::~AioBatch() {
  if (ctx_ != 0) syscall(SYS_io_destroy, ctx_);
}

std::string AioBatch::init(unsigned depth) {
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) != 0 || current.sa_handler != SIG_IGN) {
    return "SIGPIPE is not ignored (an AIO socket write cannot ask for MSG_NOSIGNAL)";
  }
  aio_context_t ctx = 0;
  if (syscall(SYS_io_setup, depth, &ctx) != 0) return std::string("io_setup: ") + std::strerror(errno);
  const auto* ring = reinterpret_cast<const AioRing*>(ctx);
  if (ring->magic != kRingMagic || ring->incompat_features != 0 || ring->header_length != sizeof(AioRing)) {
    syscall(SYS_io_destroy, ctx);
    return "unknown AIO ring layout";
  }
  ctx_ = ctx;
  iocbs_.resize(depth);
  pointers_.resize(depth);
  for (unsigned i = 0; i < depth; ++i) pointers_[i] = &iocbs_[i];
  events_.reserve(depth);
  return {};
}

iocb& AioBatch::add(int fd, uint16_t opcode, uint64_t buf, uint64_t nbytes, uint64_t tag) {
  iocb& cb = iocbs_[count_++];
  std::memset(&cb, 0, sizeof cb);
  cb.aio_data = tag;
  cb.aio_lio_opcode = opcode;
  cb.aio_fildes = uint32_t(fd);
  cb.aio_buf = buf;
  cb.aio_nbytes = nbytes;
  cb.aio_rw_flags = RWF_NOWAIT;  // a socket with nothing to read / no room: -EAGAIN, never queued
  return cb;
}

void AioBatch::add_write(int fd, const void* data, size_t len, uint64_t tag) {
  add(fd, IOCB_CMD_PWRITE, reinterpret_cast<uintptr_t>(data), len, tag);
}

void AioBatch::add_writev(int fd, const iovec* iov, size_t iov_count, uint64_t tag) {
  add(fd, IOCB_CMD_PWRITEV, reinterpret_cast<uintptr_t>(iov), iov_count, tag);
}

void AioBatch::add_read(int fd, void* data, size_t len, uint64_t tag) {
  add(fd, IOCB_CMD_PREAD, reinterpret_cast<uintptr_t>(data), len, tag);
}

long AioBatch::submit(size_t first) {
  const long rc = syscall(SYS_io_submit, ctx_, long(count_ - first), pointers_.data() + first);
  return rc < 0 ? -errno : rc;
}

void AioBatch::collect(size_t expected) {
  auto* ring = reinterpret_cast<AioRing*>(ctx_);
  while (events_.size() < expected) {
    const unsigned head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);
    const unsigned tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
    if (head == tail) {
      // Not in the ring yet (it never happens for sockets: they do not queue): wait.
      io_event event{};
      if (syscall(SYS_io_getevents, ctx_, 1L, 1L, &event, nullptr) == 1) {
        events_.push_back({event.data, event.res});
      }
      continue;
    }
    const io_event& event = ring->events[head];
    events_.push_back({event.data, event.res});
    __atomic_store_n(&ring->head, (head + 1) % ring->nr, __ATOMIC_RELEASE);
  }
}

}  // namespace ringgate::net
