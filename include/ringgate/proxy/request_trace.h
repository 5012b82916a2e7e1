#pragma once
// The OpenTelemetry trace of one request (issue 50), on its worker: the W3C traceparent
// it arrived with (continued, parent-based sampling) or a new trace, and its spans —
// the request (SERVER), its admission, each pick, each attempt (CLIENT: AttemptSpan) —
// encoded into the worker's span ring (metrics/span_builder.h) for the control thread to
// export. Tracing off: begin() is one branch and nothing else runs or is recorded;
// sampled out: ids are made and propagated (sampled flag 0), nothing recorded. No
// allocation on the request path: spans are written in place in the ring.
#include <cstdint>
#include <optional>
#include <string_view>

#include "ringgate/http/request_parser.h"
#include "ringgate/metrics/span_builder.h"
#include "ringgate/openai/finish_reason_tail.h"
#include "ringgate/openai/response_id_scanner.h"
#include "ringgate/proxy/attempt_policy.h"
#include "ringgate/proxy/trace_reasons.h"
#include "ringgate/proxy/upstream_side.h"
#include "ringgate/util/trace_context.h"

namespace ringgate::proxy {

struct ExchangeEnv;
struct RouteDecision;

// What the request's SERVER span says when it ends (RequestStats::record fills it).
struct RequestSpanFacts {
  int status = 0;
  uint32_t attempts = 0, migrations = 0;
  bool stream = false;
  std::string_view request_id, model, target_model, endpoint;
  int64_t input_tokens = -1, output_tokens = -1;
  uint64_t first_token_ns = 0;  // steady ns; 0 = none
  uint64_t end_ns = 0;          // steady ns; 0 = now
};

class RequestTrace {
 public:
  explicit RequestTrace(ExchangeEnv& env) : env_(env) {}

  // A new request: reads its traceparent/tracestate (malformed ones are ignored: a new
  // trace) and decides whether it is sampled. `route`: the path's template in the route
  // table ("/v1/responses/{id}"), empty for a path not listed there.
  void begin(const http::Request& request, std::string_view route);
  // Tracing is on for this request: its attempts carry a traceparent.
  bool on() const { return on_; }
  bool sampled() const { return sampled_; }
  // The flow-control queue and rate limits are behind it (`outcome`: admitted, rate_limited,
  // queue_timeout, queue_full, ...); `queued`: it went through the flow-control queue;
  // `rate_limited`: a tenant budget was checked. The admission span, once, and only when
  // one of the two applied or it was refused: with neither configured, nothing admits, and
  // a span of constants would cost a traced request an eighth of its spans' bytes.
  void admitted(AdmissionOutcome outcome, bool queued, bool rate_limited);
  // After a route(): the pick span, timed by the decision's scheduling clock reads. The
  // start of the last pick before admitted() is when admission ended.
  void picked(const RouteDecision& decision, TraceLeg leg);
  // Where a model's tenant and priority are known (RequestStats::begin).
  void labels(int32_t priority, std::string_view tenant);
  // Answer bytes relayed to the client (gen_ai.response.id; its tail for
  // gen_ai.response.finish_reasons, read once at finish()).
  void observe(std::string_view relayed, bool event_stream);
  // The request is over: its SERVER span. Once.
  void finish(const RequestSpanFacts& facts);

  // For AttemptSpan and the access log.
  const util::TraceId& trace_id() const { return trace_id_; }
  const util::SpanId& server_span() const { return server_span_; }
  uint8_t flags() const { return flags_; }
  std::string_view tracestate() const { return tracestate_; }
  util::SpanId new_span_id();
  // A span `id` written into the worker's ring under this trace (parent: the SERVER
  // span); nothing when the ring is full (counted) or the request is not sampled.
  // commit() finishes and publishes it.
  std::optional<metrics::SpanBuilder> claim(std::string_view name, metrics::SpanKind kind, const util::SpanId& id,
                                            uint64_t start_ns, uint64_t end_ns);
  void commit(metrics::SpanBuilder& span);

 private:
  std::optional<metrics::SpanBuilder> claim(const metrics::SpanStart& start);

  ExchangeEnv& env_;
  bool on_ = false;
  bool sampled_ = false;
  bool admission_open_ = false;
  bool response_id_started_ = false;
  uint8_t flags_ = 0;
  util::TraceId trace_id_{};
  util::SpanId server_span_{};
  util::SpanId parent_{};
  bool has_parent_ = false;
  std::string_view tracestate_;  // the client's (valid while the request is)
  std::string_view method_, target_, route_;
  uint64_t start_ns_ = 0;
  uint64_t last_pick_ns_ = 0;  // while admission is open: when the last pick began
  int32_t priority_ = 0;
  bool labelled_ = false;
  char tenant_[64];
  uint8_t tenant_size_ = 0;
  openai::ResponseIdScanner response_id_;
  openai::FinishReasonTail finish_reasons_;
};

// One attempt's CLIENT span (kept by its Attempt): opened when the attempt sends (its id
// is the traceparent the server sees), closed when the attempt ends.
class AttemptSpan {
 public:
  // Opens a span for an attempt to `destination`; closes the one still open first (a
  // fresh connection after a stale pooled one is an attempt of its own).
  void open(const LegTrace& leg, std::string_view destination, uint64_t now_ns);
  bool open() const { return trace_ != nullptr; }
  // "00-…" for the traceparent header (empty when no span is open).
  std::string_view traceparent() const { return trace_ ? std::string_view(traceparent_, sizeof traceparent_) : std::string_view(); }
  std::string_view tracestate() const;
  void head(int status) { status_ = status; }
  void body(size_t bytes) { bytes_ += bytes; }
  void completed() { completed_ = true; }
  void failed(FailureKind kind) {
    failed_ = true;
    failure_ = kind;
  }
  // Records the span (when sampled) and lets go of the trace; `now_ns` 0: the clock is
  // read only if the span is recorded.
  void close(uint64_t now_ns = 0);

 private:
  RequestTrace* trace_ = nullptr;
  TraceLeg leg_ = TraceLeg::Attempt;
  util::SpanId id_{};
  uint64_t start_ns_ = 0;
  uint64_t bytes_ = 0;
  int status_ = 0;
  uint32_t carried_tokens_ = 0;
  bool completed_ = false;
  bool failed_ = false;
  FailureKind failure_ = FailureKind::ConnectFailed;
  char destination_[64];
  uint8_t destination_size_ = 0;
  char traceparent_[util::kTraceparentLength];
};

}  // namespace ringgate::proxy
