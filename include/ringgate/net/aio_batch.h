#pragma once
// Linux AIO (io_submit) used as a batching syscall for non-blocking socket I/O: one
// io_submit writes (or reads) many sockets, where plain send()/recv() pay a syscall
// each. Socket reads and writes submitted with RWF_NOWAIT never queue: they run inside
// io_submit and their results are already in the completion ring when it returns,
// read here from user space (no io_getevents per batch). Container runtimes' default
// seccomp profiles (Moby, containerd) allow io_setup/io_submit while they refuse
// io_uring, which is why the epoll backend can use it; where it is refused too, the
// backend falls back to one syscall per operation.
//
// sock_write_iter cannot be given MSG_NOSIGNAL: a write to a reset connection raises
// SIGPIPE. init() refuses unless the process ignores SIGPIPE (ringgate's main does).
#include <linux/aio_abi.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ringgate::net {

class AioBatch {
 public:
  AioBatch() = default;
  AioBatch(const AioBatch&) = delete;
  AioBatch& operator=(const AioBatch&) = delete;
  ~AioBatch();

  // Empty when usable; else why not (the caller then does one syscall per operation).
  std::string init(unsigned depth);
  bool usable() const { return ctx_ != 0; }

  bool full() const { return count_ == iocbs_.size(); }
  bool empty() const { return count_ == 0; }
  // The bytes (and iovec arrays) must stay put until run() returns.
  void add_write(int fd, const void* data, size_t len, uint64_t tag);
  void add_writev(int fd, const iovec* iov, size_t iov_count, uint64_t tag);
  void add_read(int fd, void* data, size_t len, uint64_t tag);

  // Submits what was added. Each operation's result (bytes, or -errno such as
  // -EAGAIN) goes to on_result(tag, res), in the order added; an operation the kernel
  // would not take (io_submit refused it) goes to on_refused(tag) instead.
  template <class OnResult, class OnRefused>
  void run(OnResult&& on_result, OnRefused&& on_refused) {
    size_t next = 0;
    while (next < count_) {
      const long submitted = submit(next);
      if (submitted <= 0) {  // iocbs_[next] was refused; the ones after it may not be
        on_refused(iocbs_[next].aio_data);
        ++next;
        continue;
      }
      reap(size_t(submitted), on_result);
      next += size_t(submitted);
    }
    count_ = 0;
  }

 private:
  struct Event {
    uint64_t tag;
    int64_t res;
  };
  long submit(size_t first);
  // Takes `expected` completions (they are in the ring: nothing queues) in order.
  template <class OnResult>
  void reap(size_t expected, OnResult& on_result) {
    events_.clear();
    collect(expected);
    for (const Event& e : events_) on_result(e.tag, e.res);
  }
  void collect(size_t expected);
  iocb& add(int fd, uint16_t opcode, uint64_t buf, uint64_t nbytes, uint64_t tag);

  aio_context_t ctx_ = 0;
  std::vector<iocb> iocbs_;
  std::vector<iocb*> pointers_;
  std::vector<Event> events_;
  size_t count_ = 0;
};

}  // namespace ringgate::net
