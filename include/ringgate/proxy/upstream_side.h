#pragma once
// The upstream side as an attempt sees it: a channel that carries one request to one
// endpoint (an UpstreamConnection, or in EPP mode the Gateway's own connection) and
// reports what comes back. Interfaces only, so that the request logic above them
// (Attempt, Exchange) is driven by fakes in tests/proxy/exchange_test.cpp.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ringgate/http/body_buffer.h"
#include "ringgate/http/response_parser.h"
#include "ringgate/net/address.h"
#include "ringgate/proxy/attempt_policy.h"
#include "ringgate/proxy/trace_reasons.h"

namespace ringgate::proxy {

class RequestTrace;

// The trace an attempt's span belongs to and what leg of the request it is
// (proxy/request_trace.h); trace null: tracing is off, the attempt records nothing.
struct LegTrace {
  RequestTrace* trace = nullptr;
  TraceLeg leg = TraceLeg::Attempt;
  uint32_t carried_tokens = 0;  // a migration: the generated tokens its continuation carries
};

// What an attempt sends: head, then the body with the model value replaced by
// model_token when it is not empty (spliced with iovecs, never re-serialised).
struct RequestImage {
  std::string_view head;
  std::string_view body;
  size_t model_offset = 0;
  size_t model_length = 0;
  std::string_view model_token;
  // The data-parallel rank the endpoint is reached by (X-data-parallel-rank: rank, added to
  // the head, which never carries a client's own); -1: none. Set by the Attempt from its route.
  int32_t data_parallel_rank = -1;
  // Tracing: whose span the attempt opens (set by the exchange), and the W3C headers the
  // attempt then sends (traceparent: its own span as the parent; the client's tracestate),
  // added to the head as the rank is.
  LegTrace trace;
  std::string_view traceparent;
  std::string_view tracestate;
  // The head has no Host (an HTTP/1.0 client need not send one; the head is HTTP/1.1,
  // which must, RFC 9112 §3.2): set by the exchange; the attempt then names its endpoint
  // (host: its authority, "[v6]:port" or "v4:port"), added to the head as the rank is.
  bool add_host = false;
  std::string_view host;
  // The routing ticket's generation for this connection (RouteTicket::generation(); set by
  // the Attempt, new for each connection of a try): a connection tells the lease it called
  // back from a later one by it, never by the listener's address. 0: none.
  uint64_t generation = 0;
};

// The request header that pins a vLLM request to one data-parallel rank.
inline constexpr std::string_view kDataParallelRankHeader = "x-data-parallel-rank";

// What a channel reports. Never called from inside the call that caused it (open(),
// release(), pause_reading()), always from a completion or timer.
class AttemptListener {
 public:
  virtual ~AttemptListener() = default;
  virtual void on_response_head(const http::ResponseParser& head) = 0;  // the final (non-1xx) head
  virtual void on_response_body(std::string_view decoded) = 0;
  virtual void on_response_end(bool reusable) = 0;
  virtual void on_attempt_failed(FailureKind kind) = 0;
  // Where the next read's decoded body bytes may be written (appended) in place of a
  // scratch buffer, or null. When not null, on_response_body follows with a view of
  // exactly those bytes, even when there are none.
  virtual std::string* body_sink() { return nullptr; }
};

class UpstreamChannel {
 public:
  virtual ~UpstreamChannel() = default;
  virtual bool reused() const = 0;          // a pooled connection (it may have been closed by the server)
  virtual bool send_in_flight() const = 0;  // the request is still being written
  // The attempt is done with the channel: no more reports. reusable → back to the
  // pool, else closed. `body` is what the channel's send may still be reading: when a
  // send is in flight the channel takes it (moved: the heap block the iovecs point
  // into does not move) and frees it after the send's last completion.
  virtual void release(bool reusable, http::BodyBuffer& body) = 0;
  // Backpressure from a slow client: stop / resume reading the response.
  virtual void pause_reading(bool paused) = 0;
  // From now on, a response silent this long fails with ReadIdleTimeout (a stream that
  // can be continued elsewhere waits less for a stalled server than one that cannot).
  virtual void set_read_idle_timeout(uint32_t ms) = 0;
};

class UpstreamSide {
 public:
  virtual ~UpstreamSide() = default;
  // Starts a request on `endpoint_id`: a pooled connection when allow_reuse and one
  // is idle, else a new one; it sends `image` (the channel copies head and token; the
  // body must stay put until release()). nullptr: no socket could be made.
  virtual UpstreamChannel* open(uint32_t endpoint_id, const net::Address& address, bool allow_reuse,
                                const RequestImage& image, AttemptListener* listener) = 0;
};

}  // namespace ringgate::proxy
