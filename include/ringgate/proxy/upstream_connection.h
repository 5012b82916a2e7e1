#pragma once
// One connection to a model server: connect, send a request (head + body with the
// model name spliced in by iovec), parse the response, report to the exchange that
// holds it, and say whether it can be reused. Idle ones live in the UpstreamPool.
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <string>

#include "ringgate/http/response_parser.h"
#include "ringgate/net/address.h"
#include "ringgate/net/loop.h"
#include "ringgate/net/recv_owner.h"
#include "ringgate/proxy/upstream_side.h"
#include "ringgate/proxy/proxy_options.h"
#include "ringgate/proxy/worker_counters.h"

namespace ringgate::proxy {

class UpstreamPool;

// What every upstream connection of a worker shares.
struct UpstreamRuntime {
  net::Loop* loop = nullptr;
  const ProxyOptions* options = nullptr;
  WorkerCounters* counters = nullptr;
  UpstreamPool* pool = nullptr;
  std::string scratch;  // decoded body bytes of the current receive
  bool draining = false;
};

class UpstreamConnection final : public net::IoHandler,
                                 public net::RecvOwner,
                                 public net::TimerTarget,
                                 public UpstreamChannel {
 public:
  UpstreamConnection(UpstreamRuntime& runtime, uint32_t endpoint_id, const net::Address& address)
      : rt_(runtime), endpoint_id_(endpoint_id), address_(address) {}
  ~UpstreamConnection() override;

  // A socket and a connect in flight; false when no socket could be made.
  bool connect();
  // Starts the exchange's attempt on this connection: sends `image` now or once connected.
  void begin(const RequestImage& image, AttemptListener* listener, bool reused);
  // Closes: every operation cancelled; freed after the last completion (deferred delete).
  void close();

  uint32_t endpoint_id() const { return endpoint_id_; }
  bool closing() const { return closing_; }
  bool pooled = false;  // in the pool's idle list

  // UpstreamChannel
  bool reused() const override { return reused_; }
  bool send_in_flight() const override { return send_in_flight_; }
  void release(bool reusable, http::BodyBuffer& body) override;
  void pause_reading(bool paused) override;
  void set_read_idle_timeout(uint32_t ms) override;

  void on_completion(const net::Completion& c) override;
  void on_timer(net::Timer& timer) override;

 private:
  void arm_recv();
  void start_send();
  void submit_send();
  void on_sent(int32_t res);
  // net::RecvOwner
  void on_recv_data(const char* data, size_t len) override { on_data(data, len); }
  void on_recv_end(int32_t) override { on_eof(); }
  void on_recv_stopped(bool ran_dry) override;
  void on_data(const char* data, size_t len);
  void on_eof();
  void report(FailureKind kind);

  UpstreamRuntime& rt_;
  uint32_t endpoint_id_;
  net::Address address_;
  int fd_ = -1;
  AttemptListener* listener_ = nullptr;  // null while idle in the pool
  uint64_t generation_ = 0;              // its lease's (RequestImage::generation)
  // After a call into the listener: the same lease still holds the connection (not one
  // the exchange took afresh meanwhile, whatever the listener's address).
  bool same_lease(const AttemptListener* listener, uint64_t generation) const {
    return listener_ == listener && generation_ == generation;
  }
  http::ResponseParser parser_;
  // The iovecs of the send in flight point at head_ and token_ (this object's own
  // copies) and at the exchange's request body. Nothing rebuilds head_/token_ while a
  // send is in flight: begin() runs only on a new connection or one taken idle from
  // the pool, and only connections with no send in flight go back to the pool. The
  // body stays put while the exchange holds this attempt; if the exchange lets go with
  // the send still in flight, release() moves the body string into retained_body_ (a
  // move keeps the heap block the iovecs name; the body always has heap capacity, the
  // JSON reader's padding) and this object, with retained_body_, is deleted only after
  // the send's final completion (net::Loop deferred deletion).
  std::string head_;
  std::string token_;
  http::BodyBuffer retained_body_;
  iovec iov_[4]{};
  size_t iov_count_ = 0;
  size_t iov_first_ = 0;
  msghdr msg_{};
  net::Timer timer_{this, 0};  // connect, then first byte (whole head), then read idle; pool idle when idle
  uint32_t read_idle_ms_ = 0;  // this request's read-idle timeout (set_read_idle_timeout)
  bool connecting_ = false;
  bool send_pending_ = false;   // begin() came before the connect finished
  bool send_in_flight_ = false;
  bool recv_armed_ = false;
  bool recv_wanted_ = true;
  bool head_seen_ = false;
  bool reused_ = false;
  bool closing_ = false;
};

}  // namespace ringgate::proxy
