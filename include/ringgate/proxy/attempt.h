#pragma once
// One upstream request of an exchange (Envoy's UpstreamRequest): the endpoint it went
// to, the channel that carries it, its routing ticket (RouteTicket: the slot, token load
// and pending prefill it holds there, taken when it opens), the body buffer it was opened
// with, and what it did (a head arrived, bytes of it reached the client). The ticket and
// the channel are let go in one place, end(). What the channel reports goes to the owner with the attempt
// attached, so that an exchange can tell two attempts apart (a continuation after a
// failure, or two at once).
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/http/body_buffer.h"
#include "ringgate/proxy/exchange_env.h"
#include "ringgate/proxy/request_trace.h"
#include "ringgate/proxy/route_ticket.h"
#include "ringgate/proxy/upstream_side.h"

namespace ringgate::proxy {

class Attempt;

// What an attempt reports to its exchange (from a completion or timer, never from
// inside a call the exchange made on it).
class AttemptOwner {
 public:
  virtual ~AttemptOwner() = default;
  virtual void attempt_head(Attempt& attempt, const http::ResponseParser& head) = 0;
  virtual void attempt_body(Attempt& attempt, std::string_view decoded) = 0;
  virtual void attempt_end(Attempt& attempt, bool reusable) = 0;
  virtual void attempt_failed(Attempt& attempt, FailureKind kind) = 0;
  // AttemptListener::body_sink's answer for this attempt.
  virtual std::string* attempt_body_sink(Attempt& /*attempt*/) { return nullptr; }
};

class Attempt final : public AttemptListener {
 public:
  Attempt(ExchangeEnv& env, AttemptOwner& owner) : env_(env), owner_(owner) {}
  ~Attempt() override;
  Attempt(const Attempt&) = delete;
  Attempt& operator=(const Attempt&) = delete;

  // Takes `ticket` (route()'s for `decision`) and records it at the endpoint, records
  // `body` (the buffer the request's body is sent from: image.body is its text, and end()
  // hands it to a channel whose send is still in flight) and sends `image` to the
  // endpoint. False: no socket could be made (the ticket is held until end()). Opened once
  // until end(). `token_first`: the answer's first byte comes with its first token (a
  // stream, a prefill leg), so the time it awaits that byte is the server's TTFT (else it
  // is the whole answer's time, and not counted in the awaiting age).
  bool open(RouteTicket ticket, const RouteDecision& decision, http::BodyBuffer& body, RequestImage image,
            bool token_first);
  // The same endpoint again on a new connection (a pooled one turned out stale): first
  // drop_channel(), then reopen() (the image's body: what the recorded body now holds).
  // The ticket stays (a new generation).
  void drop_channel() { release_channel(false, /*keep_body=*/true); }
  bool reopen(RequestImage image);
  // THE place an attempt lets go: its channel (back to the pool when reusable, else
  // closed) and its ticket. When the channel's send is still in flight it takes
  // the recorded body (the bytes it may still read); keep_body leaves a copy in its place
  // for another attempt.
  void end(bool reusable, bool keep_body);

  bool active() const { return ticket_.held(); }
  bool connected() const { return channel_ != nullptr; }
  uint32_t endpoint_id() const { return endpoint_id_; }
  const std::string& destination() const { return destination_; }  // "host:port"
  bool reused() const { return channel_ != nullptr && channel_->reused(); }
  bool response_started() const { return response_started_; }
  bool delivered() const { return delivered_; }
  // The exchange relayed bytes of this attempt's answer to the client.
  // Its first bytes are its first token: the prompt's prefill is no longer in flight there.
  void mark_delivered() {
    delivered_ = true;
    ticket_.first_token();
  }
  // When it was (last) sent, steady_ns(); the latency features it was sent with.
  uint64_t sent_ns() const { return sent_ns_; }
  const sched::LatencyFeatures& features() const { return features_; }

  // Passive health: what this attempt says about its endpoint.
  void blame() const { env_.router->endpoint_failed(endpoint_id_); }
  void credit() const { env_.router->endpoint_succeeded(endpoint_id_); }
  void pause_reading(bool paused) {
    if (channel_) channel_->pause_reading(paused);
  }
  void set_read_idle_timeout(uint32_t ms) {
    if (channel_) channel_->set_read_idle_timeout(ms);
  }

  // AttemptListener (from the channel)
  void on_response_head(const http::ResponseParser& head) override;
  void on_response_body(std::string_view decoded) override {
    span_.body(decoded.size());
    owner_.attempt_body(*this, decoded);
  }
  void on_response_end(bool reusable) override {
    span_.completed();
    owner_.attempt_end(*this, reusable);
  }
  void on_attempt_failed(FailureKind kind) override {
    span_.failed(kind);
    owner_.attempt_failed(*this, kind);
  }
  std::string* body_sink() override { return owner_.attempt_body_sink(*this); }

 private:
  bool connect(RequestImage& image, bool allow_reuse, uint64_t now_ns);
  void release_channel(bool reusable, bool keep_body);

  ExchangeEnv& env_;
  AttemptOwner& owner_;
  UpstreamChannel* channel_ = nullptr;
  uint32_t endpoint_id_ = 0;
  net::Address address_;
  int32_t header_rank_ = -1;  // RequestImage::data_parallel_rank of its sends
  std::string destination_;
  std::string authority_;  // the Host it sends when the request has none (RequestImage::add_host)
  RouteTicket ticket_;
  http::BodyBuffer* body_ = nullptr;  // what it was opened with (the exchange's, outliving it)
  bool response_started_ = false;
  bool delivered_ = false;
  uint64_t sent_ns_ = 0;
  sched::LatencyFeatures features_;
  AttemptSpan span_;  // its CLIENT span, when the request is traced (each connect() opens one)
};

}  // namespace ringgate::proxy
