#include "ringgate/proxy/request_trace.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "ringgate/proxy/exchange_env.h"
#include "ringgate/util/monotonic_clock.h"

namespace ringgate::proxy {

using util::steady_ns;

namespace {

// OpenTelemetry's TraceIdRatioBased: the trace id's last 8 bytes against the ratio, so
// every process that sees a trace id decides the same way.
bool ratio_samples(const util::TraceId& id, double ratio) {
  if (ratio >= 1.0) return true;
  if (ratio <= 0.0) return false;
  uint64_t low = 0;
  for (size_t i = 8; i < 16; ++i) low = low << 8 | id[i];
  return double(low >> 1) < ratio * 9223372036854775808.0;  // 2^63
}

// GenAI semantic conventions' gen_ai.operation.name, by path; empty: not a GenAI operation.
std::string_view operation_name(std::string_view path) {
  if (path == "/v1/chat/completions") return "chat";
  if (path == "/v1/completions") return "text_completion";
  if (path == "/v1/embeddings") return "embeddings";
  if (path == "/v1/responses") return "chat";
  return {};
}

const char* pick_reason_name(sched::PickReason reason) {
  switch (reason) {
    case sched::PickReason::None: return "none";
    case sched::PickReason::Score: return "score";
    case sched::PickReason::Session: return "session";
    case sched::PickReason::PrefixPlacement: return "prefix_placement";
    case sched::PickReason::Slo: return "slo";
    case sched::PickReason::Response: return "response";
  }
  return "none";
}

}  // namespace

void RequestTrace::begin(const http::Request& request, std::string_view route) {
  on_ = sampled_ = false;
  const TracingOptions& options = env_.options->tracing;
  if (!options.enabled) return;
  on_ = true;
  admission_open_ = true;
  response_id_started_ = false;
  last_pick_ns_ = 0;
  labelled_ = false;
  tenant_size_ = 0;
  util::TraceParent parent;
  has_parent_ = util::parse_traceparent(request.header("traceparent"), parent);
  tracestate_ = {};
  if (has_parent_) {
    trace_id_ = parent.trace_id;
    parent_ = parent.parent_id;
    const std::string_view state = request.header("tracestate");
    if (util::valid_tracestate(state)) tracestate_ = state;
    sampled_ = options.parent_based ? parent.sampled() : ratio_samples(trace_id_, options.sample_ratio);
  } else {
    trace_id_ = env_.trace_ids.trace_id();
    sampled_ = ratio_samples(trace_id_, options.sample_ratio);
  }
  flags_ = sampled_ ? util::kTraceFlagSampled : 0;
  start_ns_ = sampled_ ? steady_ns() : 0;  // a request sampled out reads no clock for its trace
  server_span_ = env_.trace_ids.span_id();
  const std::string_view target = request.target;
  method_ = llhttp_method_name(request.method);
  target_ = target.substr(0, target.find('?'));
  route_ = route;
}

util::SpanId RequestTrace::new_span_id() { return env_.trace_ids.span_id(); }

std::optional<metrics::SpanBuilder> RequestTrace::claim(const metrics::SpanStart& start) {
  if (!sampled_) return std::nullopt;
  metrics::SpanRecord* r = env_.stats->spans.claim();
  if (r == nullptr) return std::nullopt;
  return std::optional<metrics::SpanBuilder>(std::in_place, *r, start, env_.stats->span_clock.realtime_offset_ns());
}

std::optional<metrics::SpanBuilder> RequestTrace::claim(std::string_view name, metrics::SpanKind kind,
                                                        const util::SpanId& id, uint64_t start_ns, uint64_t end_ns) {
  metrics::SpanStart s;
  s.trace_id = trace_id_;
  s.span_id = id;
  s.parent_id = server_span_;
  s.has_parent = true;
  s.flags = flags_;
  s.kind = kind;
  s.tracestate = tracestate_;
  s.name = name;
  s.start_ns = start_ns;
  s.end_ns = end_ns;
  return claim(s);
}

void RequestTrace::commit(metrics::SpanBuilder& span) {
  span.finish();
  env_.stats->spans.commit();
}

void RequestTrace::admitted(AdmissionOutcome outcome, bool queued, bool rate_limited) {
  if (!admission_open_) return;
  admission_open_ = false;
  const bool refused = outcome != AdmissionOutcome::Admitted;
  if (!sampled_ || !(queued || rate_limited || refused)) return;
  // Admitted: the admission ended when the pick that admitted it began (the pick is a span
  // of its own). Refused (rate limit) or given up in the queue (timeout, eviction): now.
  const uint64_t end_ns = !refused && last_pick_ns_ ? last_pick_ns_ : steady_ns();
  std::optional<metrics::SpanBuilder> span =
      claim("ringgate.admission", metrics::SpanKind::Internal, new_span_id(), start_ns_, end_ns);
  if (!span) return;
  span->add_ascii("ringgate.admission.outcome", name(outcome));
  span->add_bool("ringgate.flow_control.queued", queued);
  if (queued) span->add_double("ringgate.flow_control.queue_seconds", double(end_ns - start_ns_) / 1e9);
  if (rate_limited)
    span->add_ascii("ringgate.rate_limit.outcome", outcome == AdmissionOutcome::RateLimited ? "refused" : "allowed");
  if (refused) span->set_status(metrics::SpanStatus::Error);
  commit(*span);
}

void RequestTrace::picked(const RouteDecision& d, TraceLeg leg) {
  if (!sampled_) return;
  // Untimed (no snapshot, a pinned route_to): an instant, now.
  const uint64_t end_ns = d.ended_ns ? d.ended_ns : steady_ns();
  const uint64_t start_ns = d.started_ns ? d.started_ns : end_ns;
  if (admission_open_) last_pick_ns_ = start_ns;
  if (d.saturated) return;  // a saturated pick leaves it queued: no span
  std::optional<metrics::SpanBuilder> span =
      claim("ringgate.pick", metrics::SpanKind::Internal, new_span_id(), start_ns, end_ns);
  if (!span) return;
  span->add_ascii("ringgate.pick.leg", name(leg));
  if (d.status == 0) {
    char endpoint[80];
    const size_t host = std::min<size_t>(d.endpoint_host.size(), 64);
    std::memcpy(endpoint, d.endpoint_host.data(), host);
    endpoint[host] = ':';
    char* const end = std::to_chars(endpoint + host + 1, endpoint + sizeof endpoint, d.endpoint_port).ptr;
    span->add_string("ringgate.pick.endpoint", std::string_view(endpoint, size_t(end - endpoint)));
    span->add_ascii("ringgate.pick.reason", pick_reason_name(d.reason));
    span->add_int("ringgate.pick.prefix_blocks_matched", d.matched_blocks);
    span->add_int("ringgate.pick.prefix_blocks", d.total_blocks);
    span->add_int("ringgate.pick.candidates", d.candidates);
  } else {
    span->set_status(metrics::SpanStatus::Error);
    span->add_int("http.response.status_code", d.status);
    span->add_ascii("error.type", d.code);
  }
  commit(*span);
}

void RequestTrace::labels(int32_t priority, std::string_view tenant) {
  if (!sampled_) return;
  labelled_ = true;
  priority_ = priority;
  size_t n = std::min(tenant.size(), sizeof tenant_);
  if (!tenant.empty()) std::memcpy(tenant_, tenant.data(), n);
  tenant_size_ = uint8_t(n);
}

void RequestTrace::observe(std::string_view relayed, bool event_stream) {
  if (!sampled_) return;
  if (!response_id_started_) {
    response_id_started_ = true;
    response_id_.reset(event_stream, /*responses_stream=*/route_ == "/v1/responses");
    finish_reasons_.reset();
  }
  if (!response_id_.done()) response_id_.feed(relayed);
  finish_reasons_.feed(relayed);
}

void RequestTrace::finish(const RequestSpanFacts& f) {
  if (!on_) return;
  on_ = false;
  admission_open_ = false;
  if (!sampled_) return;
  // The HTTP server span's name: "{method} {http.route}", the route's template (low
  // cardinality); "{method}" alone for a path that is no route (semantic conventions).
  char name[96];
  const size_t m = std::min<size_t>(method_.size(), 16), t = std::min<size_t>(route_.size(), 78);
  std::memcpy(name, method_.data(), m);
  name[m] = ' ';
  std::memcpy(name + m + 1, route_.data(), t);
  metrics::SpanStart s;
  s.trace_id = trace_id_;
  s.span_id = server_span_;
  s.has_parent = has_parent_;
  if (has_parent_) s.parent_id = parent_;
  s.flags = flags_;
  s.kind = metrics::SpanKind::Server;
  s.tracestate = tracestate_;
  s.name = std::string_view(name, t > 0 ? m + 1 + t : m);
  s.start_ns = start_ns_;
  s.end_ns = f.end_ns ? f.end_ns : steady_ns();
  std::optional<metrics::SpanBuilder> span = claim(s);
  if (!span) return;
  if (f.first_token_ns) span->set_event("gen_ai.first_token", f.first_token_ns);
  span->add_ascii("http.request.method", method_);
  span->add_string("url.path", target_);
  span->add_ascii("http.route", route_);  // none when empty
  if (f.status) span->add_int("http.response.status_code", f.status);
  const std::string_view operation = operation_name(route_);
  if (!operation.empty()) span->add_ascii("gen_ai.operation.name", operation);
  if (!f.model.empty()) span->add_string("gen_ai.request.model", f.model);
  if (!f.target_model.empty() && f.attempts > 0) span->add_string("gen_ai.response.model", f.target_model);
  if (f.input_tokens >= 0) span->add_int("gen_ai.usage.input_tokens", f.input_tokens);
  if (f.output_tokens >= 0) span->add_int("gen_ai.usage.output_tokens", f.output_tokens);
  if (response_id_started_ && !response_id_.id().empty()) span->add_string("gen_ai.response.id", response_id_.id());
  if (response_id_started_ && !operation.empty()) {
    char reasons[openai::FinishReasonTail::kReasonsBytes];
    span->add_string_list("gen_ai.response.finish_reasons",
                          std::string_view(reasons, finish_reasons_.reasons(reasons)));
  }
  if (f.first_token_ns > start_ns_)
    span->add_double("ringgate.ttft_seconds", double(f.first_token_ns - start_ns_) / 1e9);
  if (!f.request_id.empty()) span->add_string("ringgate.request_id", f.request_id);
  if (labelled_) {
    span->add_int("ringgate.priority", priority_);
    if (tenant_size_) span->add_string("ringgate.tenant", std::string_view(tenant_, tenant_size_));
  }
  span->add_bool("ringgate.stream", f.stream);
  span->add_int("ringgate.attempts", f.attempts);
  if (f.migrations) span->add_int("ringgate.migrations", f.migrations);
  if (!f.endpoint.empty() && f.attempts > 0) span->add_string("server.address", f.endpoint);
  if (f.status >= 500 || f.status == 0) span->set_status(metrics::SpanStatus::Error);
  commit(*span);
}

void AttemptSpan::open(const LegTrace& leg, std::string_view destination, uint64_t now_ns) {
  if (trace_ != nullptr) close(now_ns);
  if (leg.trace == nullptr || !leg.trace->on()) return;
  trace_ = leg.trace;
  leg_ = leg.leg;
  carried_tokens_ = leg.carried_tokens;
  id_ = trace_->new_span_id();
  start_ns_ = now_ns;
  bytes_ = 0;
  status_ = 0;
  completed_ = failed_ = false;
  const size_t n = std::min(destination.size(), sizeof destination_);
  if (n) std::memcpy(destination_, destination.data(), n);
  destination_size_ = uint8_t(n);
  util::format_traceparent(trace_->trace_id(), id_, trace_->flags(), traceparent_);
}

std::string_view AttemptSpan::tracestate() const { return trace_ ? trace_->tracestate() : std::string_view(); }

void AttemptSpan::close(uint64_t now_ns) {
  RequestTrace* trace = trace_;
  if (trace == nullptr) return;
  trace_ = nullptr;
  if (!trace->sampled()) return;
  if (now_ns == 0) now_ns = steady_ns();
  std::optional<metrics::SpanBuilder> span =
      trace->claim(span_name(leg_), metrics::SpanKind::Client, id_, start_ns_, now_ns);
  if (!span) return;
  span->add_ascii("ringgate.leg", name(leg_));
  span->add_ascii("http.request.method", "POST");
  const std::string_view destination(destination_, destination_size_);
  span->add_string("server.address", destination.substr(0, destination.rfind(':')));
  if (const size_t colon = destination.rfind(':'); colon != std::string_view::npos) {
    int port = 0;
    for (char c : destination.substr(colon + 1)) port = port * 10 + (c - '0');
    span->add_int("server.port", port);
  }
  if (status_) span->add_int("http.response.status_code", status_);
  span->add_int("ringgate.attempt.response_bytes", int64_t(bytes_));
  const char* outcome = failed_ ? failure_kind_name(failure_) : completed_ ? "complete" : "cancelled";
  span->add_ascii("ringgate.attempt.outcome", outcome);
  if (failed_) span->add_ascii("error.type", outcome);
  if (carried_tokens_) span->add_int("ringgate.migration.carried_tokens", carried_tokens_);
  if (failed_ || status_ >= 400) span->set_status(metrics::SpanStatus::Error);
  trace->commit(*span);
}

}  // namespace ringgate::proxy
