#pragma once
// One proxied request, from its complete body to the end of its response (h2o's
// lib/core/proxy.c generator, Envoy's router with one UpstreamRequest per attempt):
//   rewrite → route → attempts (AttemptPolicy, one FailureKind per failed attempt)
//   → relay the response → ONE end_with_error for everything that goes wrong.
// The Exchange never touches a socket: the client side (ExchangeClient), the upstream
// side (UpstreamSide / UpstreamAttempt) and routing (RouteService) are interfaces, so
// the state machine is driven by fakes in tests/proxy/exchange_test.cpp.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/http/request_parser.h"
#include "ringgate/http/response_parser.h"
#include "ringgate/metrics/gateway_stats.h"
#include "ringgate/net/address.h"
#include "ringgate/net/timeout_list.h"
#include "ringgate/openai/request_body.h"
#include "ringgate/openai/first_token_scanner.h"
#include "ringgate/openai/usage_scanner.h"
#include "ringgate/proxy/flow_queue.h"
#include "ringgate/proxy/forward_head.h"
#include "ringgate/proxy/prompt_digest.h"
#include "ringgate/proxy/rate_limiter.h"
#include "ringgate/proxy/proxy_options.h"
#include "ringgate/proxy/request_router.h"
#include "ringgate/proxy/model_catalog.h"
#include "ringgate/proxy/request_rules.h"
#include "ringgate/proxy/worker_counters.h"
#include "ringgate/sched/rng.h"

namespace ringgate::proxy {

// Why an attempt failed: the one classification every retry decision reads.
enum class FailureKind : uint8_t {
  ConnectFailed,     // no connection (refused, unreachable, no socket): nothing was sent
  ConnectTimeout,    // the connection did not open in time: nothing was sent
  Reset,             // the connection failed or closed before the response was complete
  FirstByteTimeout,  // request sent, the whole response head did not arrive in time
  ReadIdleTimeout,   // the response started, then no byte for the read-idle timeout
  ErrorStatus,       // a 5xx head
  Malformed,         // an unparseable response
};
const char* failure_kind_name(FailureKind kind);

// What an attempt sends: head, then the body with the model value replaced by
// model_token when it is not empty (spliced with iovecs, never re-serialised).
struct RequestImage {
  std::string_view head;
  std::string_view body;
  size_t model_offset = 0;
  size_t model_length = 0;
  std::string_view model_token;
};

// What an attempt reports to its exchange. Never called from inside the call that
// caused it (open(), release(), pause_reading()), always from a completion or timer.
class AttemptListener {
 public:
  virtual ~AttemptListener() = default;
  virtual void on_response_head(const http::ResponseParser& head) = 0;  // the final (non-1xx) head
  virtual void on_response_body(std::string_view decoded) = 0;
  virtual void on_response_end(bool reusable) = 0;
  virtual void on_attempt_failed(FailureKind kind) = 0;
};

class UpstreamAttempt {
 public:
  virtual ~UpstreamAttempt() = default;
  virtual bool reused() const = 0;          // a pooled connection (it may have been closed by the server)
  virtual bool send_in_flight() const = 0;  // the request is still being written
  // The exchange is done with the attempt: no more reports. reusable → back to the
  // pool, else closed. `body` is what the attempt's send may still be reading: when a
  // send is in flight the attempt takes it (moved: the heap block the iovecs point
  // into does not move) and frees it after the send's last completion.
  virtual void release(bool reusable, http::BodyBuffer& body) = 0;
  // Backpressure from a slow client: stop / resume reading the response.
  virtual void pause_reading(bool paused) = 0;
};

class UpstreamSide {
 public:
  virtual ~UpstreamSide() = default;
  // Starts an attempt on `endpoint_id`: a pooled connection when allow_reuse and one
  // is idle, else a new one; it sends `image` (the attempt copies head and token; the
  // body must stay put until release()). nullptr: no socket could be made.
  virtual UpstreamAttempt* open(uint32_t endpoint_id, const net::Address& address, bool allow_reuse,
                                const RequestImage& image, AttemptListener* listener) = 0;
};

// Routing and passive health as an exchange sees them (RequestRouter in the worker).
class RouteService {
 public:
  virtual ~RouteService() = default;
  virtual RouteDecision route(const RouteRequest& request) = 0;
  virtual void routed(uint32_t endpoint_id) = 0;
  virtual void released(uint32_t endpoint_id, bool sheddable) = 0;
  virtual void endpoint_failed(uint32_t endpoint_id) = 0;
  virtual void endpoint_succeeded(uint32_t endpoint_id) = 0;
};

// The client connection as an exchange sees it.
class ExchangeClient {
 public:
  virtual ~ExchangeClient() = default;
  virtual std::string& output() = 0;  // bytes queued for the client
  virtual void flush() = 0;
  // The response is entirely in output(): go on (keep_alive) or close after sending it.
  virtual void exchange_finished(bool keep_alive) = 0;
  // The response cannot be completed: send what is queued, then cut the connection
  // without ending the body (no terminating chunk; short of Content-Length).
  virtual void exchange_aborted() = 0;
};

// What every exchange of a worker shares.
struct ExchangeEnv {
  const ProxyOptions* options = nullptr;
  WorkerCounters* counters = nullptr;
  metrics::WorkerStats* stats = nullptr;
  RouteService* router = nullptr;
  const RequestRules* rules = nullptr;  // the worker's current rules (swapped between turns)
  const ModelCatalog* catalog = nullptr;  // the worker's current model catalog (/v1/models, statistics labels)
  UpstreamSide* upstreams = nullptr;
  // Flow control: this worker's queue and its share of the bounds (null = none).
  FlowQueue* flow = nullptr;
  const FlowLimits* flow_limits = nullptr;
  RateLimiter* limiter = nullptr;  // shared by the workers; null = no rate limits
  net::Timers* timers = nullptr;
  const uint64_t* now_ms = nullptr;
  openai::BodyReader body_reader;
  size_t prefix_block_bytes = 64;  // the routers' block size: the digests hash prompts with it
  sched::Rng rng{1};
  std::string key_scratch;
  int worker_index = 0;
  uint64_t request_serial = 0;
  bool draining = false;
};

class Exchange final : public AttemptListener, public net::TimerTarget, public FlowWaiter {
 public:
  Exchange(ExchangeEnv& env, ExchangeClient& client)
      : env_(env), client_(client), digest_(env.prefix_block_bytes) {}
  ~Exchange() override;
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  // More of a request's body arrived (it is read and hashed now, not at start());
  // `first`: the first call for this request.
  void body_arrived(const http::Request& request, bool first);

  // A complete POST to a proxied path. `request` (its body) stays put until the
  // exchange ends. started_ms: the request's first byte (the retry deadline counts from it).
  void start(http::Request& request, bool http11, bool keep_alive, uint64_t started_ms);

  bool active() const { return active_; }
  bool queued() const { return queued_; }  // waiting in the flow-control queue
  bool response_started() const { return response_started_; }
  ClientFraming framing() const { return framing_; }
  uint32_t attempts() const { return attempts_; }
  int status() const { return status_; }

  // The client went away (or stalled): drop the upstream, record the request.
  void client_gone();
  // The client's queue went below the low mark: read the upstream again.
  void client_drained();
  // The gateway began draining: the response should close the connection unless its
  // head already promised keep-alive.
  void drain_started();
  // The drain deadline passed: end visibly, through the client's output queue (behind any
  // send in flight): a 503, an SSE error event and the end of the body, or a cut body.
  void cut_at_shutdown();

  // AttemptListener
  void on_response_head(const http::ResponseParser& head) override;
  void on_response_body(std::string_view decoded) override;
  void on_response_end(bool reusable) override;
  void on_attempt_failed(FailureKind kind) override;
  // TimerTarget: the whole-request deadline.
  void on_timer(net::Timer& timer) override;
  // FlowWaiter
  bool flow_try_dispatch() override;
  void flow_evicted(FlowOutcome outcome) override;

 private:
  uint64_t now() const { return *env_.now_ms; }
  void apply_model_rewrite();
  void begin_stats();
  void count_scheduled();                   // first dispatch: request_total, request_sizes
  void observe_body(std::string_view data); // a relayed body chunk: TTFT, ITL, sizes, usage
  std::string_view objective_name() const;  // x-gateway-inference-objective (or llm-d's)
  std::string_view stats_label(std::string_view model) const;
  void record();  // once per request: objective stats + access log
  void log_access(uint64_t end_ns);
  // Rate limits: false = refused (answered).
  bool admit_rate();
  void settle_rate();  // the estimate corrected by the usage, once per request
  void enter_flow();
  void leave_flow(FlowOutcome outcome);
  void observe_flow(FlowOutcome outcome);
  std::string_view fairness_id() const;
  RouteDecision route_next();
  void next_attempt();
  void dispatch(const RouteDecision& decision);
  void open_attempt(bool allow_reuse);
  void drop_attempt(bool reusable, bool keep_body);
  void retry_elsewhere(FailureKind kind);
  void start_client_response(const http::ResponseParser& head);
  void commit_response();  // the held head goes out: from now on failures are visible
  void emit_body(std::string_view data);
  void close_out();
  void finish(bool keep_alive);
  // THE way an exchange fails: a JSON error before the response head went out; after
  // it, an SSE error event for streams, else a visibly truncated (aborted) response.
  void end_with_error(int status, std::string_view code, std::string_view message,
                      std::string_view retry_after = {});
  bool retry_on_error_status(int status);

  ExchangeEnv& env_;
  ExchangeClient& client_;
  http::Request* request_ = nullptr;
  openai::RequestFields fields_;
  PromptDigest digest_;
  bool digested_ = false;  // fields_ and the prefix chain come from digest_ (else BodyReader)
  std::string target_model_;
  std::string model_token_;
  std::string request_id_;
  bool add_request_id_ = false;
  std::string upstream_head_;
  std::string destination_;
  uint32_t endpoint_id_ = 0;
  net::Address endpoint_address_;
  bool holds_in_flight_ = false;
  uint32_t attempts_ = 0;
  std::vector<uint32_t> tried_;
  uint64_t started_ms_ = 0;
  bool fresh_retry_used_ = false;
  FailureKind last_failure_ = FailureKind::ConnectFailed;
  UpstreamAttempt* attempt_ = nullptr;
  bool active_ = false;
  bool http11_ = true;
  bool keep_alive_ = true;
  bool response_started_ = false;  // the model server's head arrived
  bool committed_ = false;         // ... and reached the client's output (its first body byte came)
  std::string pending_head_;       // the client's head, held until committed
  bool event_stream_ = false;
  uint16_t relayed_tail_ = 0;  // the last two body bytes relayed
  ClientFraming framing_ = ClientFraming::ContentLength;
  metrics::ObjectiveStats* objective_ = nullptr;
  uint64_t started_ns_ = 0;
  uint64_t first_byte_ns_ = 0;   // response head relayed
  uint64_t first_token_ns_ = 0;  // first generated token relayed (TTFT)
  uint64_t last_chunk_ns_ = 0;   // previous body chunk of a stream (inter-token latency)
  uint64_t response_bytes_ = 0;  // body bytes relayed (response_sizes)
  int status_ = 0;
  bool from_model_server_ = false;  // status_ is the model server's answer, relayed
  openai::UsageScanner usage_;
  openai::FirstTokenScanner first_token_;
  net::Timer request_timer_{this, 0};
  // Flow control and rate limits.
  int32_t priority_ = 0;
  bool sheddable_ = false;
  bool queued_ = false;
  uint64_t queued_at_ns_ = 0;
  metrics::FlowBandStats* flow_stats_ = nullptr;  // its (priority, fairness id) series while queued
  bool rate_active_ = false;
  RateDecision rate_;
  uint64_t estimated_tokens_ = 0;
  std::string extra_headers_;  // x-ratelimit-* lines, on every response of the request
};

}  // namespace ringgate::proxy
