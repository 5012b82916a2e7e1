#pragma once
// A worker's requests waiting for a Responses API id another gateway replica has not told
// this one about yet (proxy/response_wait.h), woken when it arrives: the control thread
// announces each id it learns from the others to the workers that wait
// (proxy/response_arrivals.h: a ring of id hashes and a byte on a socket pair); this
// worker's receive on that socket completes, and only the waits whose id's hash arrived
// look the table up again (all of them, once, when the ring overflowed). Nothing runs
// while nothing arrives: 2,000 waits cost their timers and nothing else.
#include <array>
#include <cstddef>
#include <cstdint>

#include "ringgate/net/io_handler.h"
#include "ringgate/proxy/response_arrivals.h"

namespace ringgate::net {
class Loop;
}

namespace ringgate::proxy {

class ResponseWait;

class ResponseWaiters final : public net::IoHandler {
 public:
  static constexpr size_t kBuckets = 1024;

  // `inbox`: this worker's (null: none, nothing wakes the waits).
  explicit ResponseWaiters(ResponseArrivals::Inbox* inbox) : inbox_(inbox) {}
  ResponseWaiters(const ResponseWaiters&) = delete;
  ResponseWaiters& operator=(const ResponseWaiters&) = delete;

  // Keeps a receive armed on the inbox's socket (the worker's loop).
  void start(net::Loop& loop);
  // The worker's loop has stopped: the receive still armed ends without a byte (the
  // socket's reading side shut), so nothing writes into this object once it is gone.
  void stop();

  // ResponseWait: on the lists (counted in the inbox, seq_cst), and off.
  void add(ResponseWait& wait);
  void remove(ResponseWait& wait);
  size_t size() const { return count_; }

  // What the socket's byte says: the announced hashes' waits look again, and those whose
  // id is placed now go on. Public for the tests (the bell's completion calls it).
  void take_arrivals();

  void on_completion(const net::Completion& completion) override;

 private:
  static void link(ResponseWait*& head, ResponseWait& wait);
  static void unlink(ResponseWait& wait);
  void look_again(ResponseWait*& head, uint64_t hash, bool any);
  void arm();

  ResponseArrivals::Inbox* inbox_;
  net::Loop* loop_ = nullptr;
  std::array<ResponseWait*, kBuckets> buckets_{};
  ResponseWait* ready_ = nullptr;  // found: their owners are told, one by one
  size_t count_ = 0;
  char buffer_[64];
};

}  // namespace ringgate::proxy
