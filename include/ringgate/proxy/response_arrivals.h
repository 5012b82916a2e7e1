#pragma once
// Response ids another gateway replica told this one about (sharedState), announced to
// the workers whose requests wait for an id not heard of yet (proxy/response_waiters.h),
// so that a waiting request goes on when its id arrives, without looking again and again.
//
// Per worker: a ring of the arrived ids' hashes (the control thread writes it, the
// worker drains it: util::SpscRing, no lock), how many requests of that worker wait (the
// worker writes it; the control thread announces nothing to a worker that waits for
// nothing), and a socket pair whose one byte wakes the worker's event loop (a receive it
// keeps armed). A full ring drops the hashes and says so: the worker then looks up every
// request it has waiting, once.
//
// Ordering: a worker registers a waiter (waiters, seq_cst) and then looks its id up in
// the table; the control thread learns an id into the table and then reads waiters
// (seq_cst). Either the lookup sees the id, or the control thread sees the waiter and
// announces the id: a wait never misses the arrival it waits for.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ringgate/util/spsc_ring.h"

namespace ringgate::proxy {

class ResponseArrivals {
 public:
  static constexpr size_t kRingSize = 4096;  // per worker: two syncs' worth of ids read (<= 16 x 32 KB)

  struct alignas(64) Inbox {
    util::SpscRing<uint64_t> hashes;
    std::atomic<uint32_t> waiters{0};     // the worker's waiting requests
    std::atomic<bool> overflowed{false};  // hashes dropped since the worker last drained
    int wake_fds[2] = {-1, -1};           // [0]: the worker receives, [1]: the control thread sends
    bool announced = false;               // control thread: a hash pushed since the last wake
  };

  // `workers` inboxes; empty error() when their sockets were made.
  explicit ResponseArrivals(size_t workers);
  ~ResponseArrivals();
  ResponseArrivals(const ResponseArrivals&) = delete;
  ResponseArrivals& operator=(const ResponseArrivals&) = delete;
  const std::string& error() const { return error_; }

  static uint64_t hash(std::string_view id);

  // Control thread: `id` was learned into the table (after learning it); wake() once the
  // batch is applied.
  void arrived(std::string_view id);
  // Control thread: wakes each worker something was announced to since the last wake.
  void wake();

  size_t size() const { return count_; }
  Inbox& inbox(size_t worker) { return inboxes_[worker]; }
  uint64_t announced() const { return announced_; }  // hashes pushed (control thread)

 private:
  size_t count_;
  std::unique_ptr<Inbox[]> inboxes_;
  std::string error_;
  uint64_t announced_ = 0;
};

}  // namespace ringgate::proxy
