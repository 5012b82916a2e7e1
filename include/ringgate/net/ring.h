#pragma once
// One io_uring per worker thread. Set up with SINGLE_ISSUER + DEFER_TASKRUN when the
// kernel has them (one submitter per ring), falling back to plain rings otherwise.
#include <liburing.h>

#include <cstdint>
#include <string>

namespace ringgate::net {

struct RingOptions {
  unsigned sq_entries = 1024;
  unsigned cq_factor = 4;  // CQ = cq_factor × SQ: multishot ops post many CQEs per SQE
};

class Ring {
 public:
  Ring() = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring();

  // Returns an empty string on success, else a message fit for a startup error
  // (it names seccomp when io_uring is refused, the usual cause in containers).
  std::string init(const RingOptions& options);

  // A free SQE; when the SQ is full the queued ones are submitted first.
  io_uring_sqe* sqe();
  // Submits queued SQEs and waits for at least one CQE.
  int submit_and_wait();
  int submit();

  // CQEs the kernel dropped or deferred because the CQ was full (cumulative).
  uint32_t cq_overflow() const;
  bool defer_taskrun() const { return defer_taskrun_; }
  io_uring* raw() { return &ring_; }

 private:
  io_uring ring_{};
  bool ready_ = false;
  bool defer_taskrun_ = false;
};

}  // namespace ringgate::net
