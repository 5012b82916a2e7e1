#include "ringgate/proxy/exchange.h"

#include <time.h>

#include <algorithm>
#include <cstdio>

#include "ringgate/config/inference_objective.h"
#include "ringgate/config/rewrite_table.h"
#include "ringgate/http/error_response.h"
#include "ringgate/proxy/route_hints.h"
#include "ringgate/util/json_text.h"

namespace ringgate::proxy {

namespace {

uint64_t steady_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// llm-d's flow identity (fairness_id label). A client picks it, so it is bounded: a long
// or control-byte value reads as "other", and the stats table caps how many there are.
// GAIE's spelling first, then llm-d's.
constexpr std::string_view kFairnessIdHeader = "x-gateway-inference-fairness-id";
constexpr std::string_view kFairnessIdHeaderLlmd = "x-llm-d-inference-fairness-id";
constexpr size_t kMaxFairnessIdBytes = 128;

bool has_control_bytes(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) { return (unsigned char)ch < 0x20 || ch == 0x7f; });
}

bool is_timeout(FailureKind kind) {
  return kind == FailureKind::ConnectTimeout || kind == FailureKind::FirstByteTimeout ||
         kind == FailureKind::ReadIdleTimeout;
}

}  // namespace

const char* failure_kind_name(FailureKind kind) {
  switch (kind) {
    case FailureKind::ConnectFailed: return "connect_failed";
    case FailureKind::ConnectTimeout: return "connect_timeout";
    case FailureKind::Reset: return "reset";
    case FailureKind::FirstByteTimeout: return "first_byte_timeout";
    case FailureKind::ReadIdleTimeout: return "read_idle_timeout";
    case FailureKind::ErrorStatus: return "error_status";
    case FailureKind::Malformed: return "malformed";
  }
  return "?";
}

Exchange::~Exchange() {
  if (active_) client_gone();
}

void Exchange::body_arrived(const http::Request& request, bool first) {
  if (first) digest_.begin(request.content_length > 0 ? size_t(request.content_length) : 0);
  digest_.advance(request.body);
}

void Exchange::start(http::Request& request, bool http11, bool keep_alive, uint64_t started_ms) {
  active_ = true;
  request_ = &request;
  http11_ = http11;
  keep_alive_ = keep_alive;
  started_ms_ = started_ms;
  attempts_ = 0;
  tried_.clear();
  fresh_retry_used_ = false;
  last_failure_ = FailureKind::ConnectFailed;
  attempt_ = nullptr;
  holds_in_flight_ = false;
  response_started_ = false;
  committed_ = false;
  pending_head_.clear();
  event_stream_ = false;
  status_ = 0;
  from_model_server_ = false;
  first_byte_ns_ = 0;
  objective_ = nullptr;
  destination_.clear();
  queued_ = false;
  rate_active_ = false;
  extra_headers_.clear();
  priority_ = env_.rules->priority(objective_name());
  sheddable_ = env_.rules->sheddable(objective_name());

  if (!admit_rate()) return;
  // Read while it arrived (body_arrived); only a body the scanner did not understand
  // is read again, whole, by BodyReader, which also words any error.
  digested_ = digest_.finish(request.body, fields_);
  if (!digested_) {
    openai::BodyReader::pad(request.body);
    const openai::BodyError error = env_.body_reader.read(request.body, request.body.capacity(), fields_);
    if (error.status != 0) return end_with_error(error.status, error.code, error.message);
  }

  const std::string_view client_id = request.header("x-request-id");
  add_request_id_ = client_id.empty() || client_id.size() > 200;
  if (add_request_id_) {
    request_id_.assign("rg-");
    util::append_uint(request_id_, uint64_t(env_.worker_index));
    request_id_ += '-';
    util::append_hex(request_id_, now());
    request_id_ += '-';
    util::append_hex(request_id_, ++env_.request_serial);
  } else {
    request_id_.assign(client_id);
  }
  apply_model_rewrite();
  begin_stats();
  if (env_.options->request_timeout_ms) env_.timers->arm(request_timer_, env_.options->request_timeout_ms, now());
  if (env_.flow != nullptr && env_.rules->flow.enabled) return enter_flow();
  next_attempt();
}

// Token and request budgets of the request's tenant. Every answer of the request
// carries the x-ratelimit-* headers of this decision.
bool Exchange::admit_rate() {
  const RequestRules& rules = *env_.rules;
  if (env_.limiter == nullptr || !rules.rate_limits.active()) return true;
  const std::string_view tenant = request_->header(rules.tenant_header);
  if (tenant.size() > kMaxFairnessIdBytes || has_control_bytes(tenant)) {
    end_with_error(400, "invalid_tenant", "the tenant header is longer than 128 bytes or holds control bytes");
    return false;
  }
  // Admission estimate: about 4 bytes of prompt per token, as OpenAI's own estimate.
  estimated_tokens_ = request_->body.size() / 4;
  rate_ = env_.limiter->admit(tenant, estimated_tokens_, rules.rate_limits, now());
  append_rate_limit_headers(extra_headers_, rules.rate_limits, rate_);
  if (!rate_.allowed) {
    env_.stats->rate_limit_rejections
        .find_or_add(metrics::rate_limit_key(tenant.empty() ? metrics::kDefaultFairnessId : tenant,
                                             rate_.tokens_exhausted, env_.key_scratch))
        .add();
    char retry[48];
    std::snprintf(retry, sizeof retry, "retry-after: %llu\r\n",
                  static_cast<unsigned long long>(std::max<uint64_t>(1, (rate_.reset_ms + 999) / 1000)));
    end_with_error(429, rate_.tokens_exhausted ? "rate_limit_exceeded_tokens" : "rate_limit_exceeded_requests",
                   rate_.tokens_exhausted ? "the tenant's tokens-per-minute budget is spent"
                                          : "the tenant's requests-per-minute budget is spent",
                   retry);
    return false;
  }
  rate_active_ = true;
  return true;
}

// The estimate made at admission, replaced by what the answer's usage reports; a
// request that never reached a model server gives its estimate back.
void Exchange::settle_rate() {
  if (!rate_active_) return;
  rate_active_ = false;
  int64_t actual = 0;
  if (usage_.prompt_tokens() > 0) actual = usage_.prompt_tokens() + std::max<int64_t>(0, usage_.completion_tokens());
  else if (from_model_server_ || attempts_ > 0) return;  // ran, but reported no usage: the estimate stays
  env_.limiter->correct(rate_.slot, rate_.window_start_ms, actual - int64_t(estimated_tokens_));
}

std::string_view Exchange::fairness_id() const {
  std::string_view id = request_->header(kFairnessIdHeader);
  if (id.empty()) id = request_->header(kFairnessIdHeaderLlmd);
  if (id.empty()) return metrics::kDefaultFairnessId;
  if (id.size() > kMaxFairnessIdBytes || has_control_bytes(id)) return metrics::kOtherModelLabel;
  return id;
}

// Flow control: the request joins the queue (by priority band and flow) and leaves it
// when the queue's dispatch cycle finds an unsaturated endpoint for it. The enqueue
// runs a cycle at once, so with room in the pool this dispatches before returning;
// the exchange may then have ended already: nothing may follow the enqueue.
void Exchange::enter_flow() {
  queued_ = true;
  queued_at_ns_ = steady_ns();
  metrics::FlowBandStats& band = metrics::flow_series(*env_.stats, priority_, fairness_id(), env_.key_scratch);
  flow_stats_ = &band;
  band.queued.add(1);
  band.queued_bytes.add(int64_t(request_->body.size()));
  if (!env_.flow->enqueue(this, priority_, fairness_id(), request_->body.size(), *env_.flow_limits, now())) {
    leave_flow(FlowOutcome::RejectedCapacity);
    return end_with_error(sheddable_ ? 429 : 503, "queue_full",
                          "every model server is saturated and the gateway's queue for this priority is full",
                          "retry-after: 1\r\n");
  }
}

void Exchange::observe_flow(FlowOutcome outcome) {
  metrics::FlowBandStats& band = *flow_stats_;
  band.queued.add(-1);
  band.queued_bytes.add(-int64_t(request_->body.size()));
  band.queue_duration[size_t(outcome)].observe(double(steady_ns() - queued_at_ns_) / 1e9,
                                               metrics::kFlowQueueDurationBuckets);
}

// Out of the queue however it left (dispatch, eviction, the client going, a timeout).
void Exchange::leave_flow(FlowOutcome outcome) {
  if (!queued_) return;
  queued_ = false;
  if (outcome == FlowOutcome::EvictedContextCancelled || outcome == FlowOutcome::RejectedCapacity)
    env_.flow->remove(this);
  observe_flow(outcome);
}

bool Exchange::flow_try_dispatch() {
  const RouteDecision decision = route_next();
  if (decision.saturated) return false;  // stays queued
  leave_flow(FlowOutcome::Dispatched);
  if (decision.status != 0) {
    end_with_error(decision.status, decision.code, decision.message);
    return true;
  }
  dispatch(decision);
  return true;
}

void Exchange::flow_evicted(FlowOutcome outcome) {
  leave_flow(outcome);
  if (outcome == FlowOutcome::EvictedTTL)
    return end_with_error(sheddable_ ? 429 : 503, "queue_timeout",
                          "every model server stayed saturated while the request waited in the gateway's queue",
                          "retry-after: 1\r\n");
  end_with_error(sheddable_ ? 429 : 503, "queue_full",
                 "the request was evicted from the gateway's queue by higher-priority traffic",
                 "retry-after: 1\r\n");
}

// THE place for model aliases: target_model_ (what routing sees) and, when the name
// changes, model_token_ (the JSON string token, quotes included) that the forwarded
// body gets in place of fields_.model_offset/model_length — spliced with an iovec.
void Exchange::apply_model_rewrite() {
  const config::RewriteDecision decision = pick_model_rewrite(*env_.rules, fields_.model, env_.rng.next(), *request_);
  target_model_.assign(decision.target);
  model_token_.clear();
  if (decision.changes(fields_.model)) util::append_json_string(model_token_, decision.target);
  if (decision.reason == config::RewriteReason::Exact || decision.reason == config::RewriteReason::CatchAll) {
    env_.stats->rewrite_decisions
        .find_or_add(metrics::rewrite_decision_key(decision.rewrite_name, stats_label(fields_.model),
                                                   stats_label(decision.target), env_.key_scratch))
        .add();
  }
}

// A model name as a statistics label: names the pool does not know share "other", so
// clients cannot mint label sets or fill a worker's statistics table.
std::string_view Exchange::stats_label(std::string_view model) const {
  return env_.catalog->labels(model) ? model : metrics::kOtherModelLabel;
}

std::string_view Exchange::objective_name() const { return proxy::objective_name(*request_); }

// The label set of the request (model, target, objective priority, fairness id); it
// counts as a request only once scheduled (count_scheduled).
void Exchange::begin_stats() {
  const std::string_view fairness = fairness_id();
  objective_ = &env_.stats->objectives.find_or_add(metrics::objective_key(
      stats_label(fields_.model), stats_label(target_model_), env_.rules->priority(objective_name()), fairness,
      env_.key_scratch));
  objective_->running.add(1);
  started_ns_ = steady_ns();
  first_token_ns_ = 0;
  last_chunk_ns_ = 0;
  response_bytes_ = 0;
  usage_.reset();
  first_token_.reset(fields_.stream);
}

// The request reached a model server for the first time: it counts as a request
// (GAIE's request_total and request_sizes are recorded once scheduling succeeded).
void Exchange::count_scheduled() {
  if (objective_ == nullptr) return;
  objective_->requests.add();
  objective_->request_sizes.observe(double(request_->body.size()), metrics::kRequestSizeBuckets);
}

// Body bytes of the answer on their way to the client: usage, response size, first
// token, gaps between a stream's chunks. Scanners keep fixed state: nothing allocated.
void Exchange::observe_body(std::string_view data) {
  usage_.feed(data);
  response_bytes_ += data.size();
  const bool first = first_token_.feed(data);
  if (!fields_.stream && !first) return;
  const uint64_t now_ns = steady_ns();
  if (first) first_token_ns_ = now_ns;
  if (fields_.stream) {
    if (last_chunk_ns_) objective_->itl.observe(double(now_ns - last_chunk_ns_) / 1e9, metrics::kItlBuckets);
    last_chunk_ns_ = now_ns;
  }
}

// The request ended (answered, failed, or its client went away): recorded once.
void Exchange::record() {
  metrics::ObjectiveStats* o = objective_;
  if (o == nullptr) return;
  objective_ = nullptr;
  o->running.add(-1);
  const uint64_t end_ns = steady_ns();
  if (env_.stats->access_log.enabled()) log_access(end_ns);
  if (status_ >= 400) o->errors[size_t(metrics::error_code_for(status_, from_model_server_))].add();
  if (status_ == 0 || status_ >= 400) return;  // latency and tokens of answers only
  const double seconds = double(end_ns - started_ns_) / 1e9;
  o->duration.observe(seconds, metrics::kRequestDurationBuckets);
  o->response_sizes.observe(double(response_bytes_), metrics::kResponseSizeBuckets);
  if (first_token_ns_)
    o->ttft[fields_.stream ? 1 : 0].observe(double(first_token_ns_ - started_ns_) / 1e9,
                                            metrics::kRequestDurationBuckets);
  if (usage_.prompt_tokens() > 0) o->input_tokens.observe(double(usage_.prompt_tokens()), metrics::kInputTokenBuckets);
  if (usage_.cached_tokens() >= 0) o->cached_tokens.observe(double(usage_.cached_tokens()), metrics::kInputTokenBuckets);
  const int64_t out = usage_.completion_tokens();
  if (out > 0) {
    o->output_tokens.observe(double(out), metrics::kOutputTokenBuckets);
    o->ntpot.observe(seconds / double(out), metrics::kNtpotBuckets);
  }
  // Time per output token after the first, of a stream (llm-d: (e2e - TTFT) / (n - 1)).
  if (fields_.stream && out > 1 && first_token_ns_ && end_ns > first_token_ns_)
    o->tpot.observe(double(end_ns - first_token_ns_) / 1e9 / double(out - 1), metrics::kTpotBuckets);
}

// Filled in place in this worker's ring (no lock, no allocation, no syscall).
void Exchange::log_access(uint64_t end_ns) {
  metrics::AccessRecord* r = env_.stats->access_log.claim();
  if (r == nullptr) return;
  r->end_ns = end_ns;
  r->duration_ns = end_ns - started_ns_;
  r->ttft_ns = first_token_ns_ ? first_token_ns_ - started_ns_ : 0;  // to the first token, as the metrics
  r->prompt_tokens = uint32_t(std::max<int64_t>(0, usage_.prompt_tokens()));
  r->completion_tokens = uint32_t(std::max<int64_t>(0, usage_.completion_tokens()));
  r->status = uint16_t(status_);
  r->attempts = uint8_t(std::min<uint32_t>(attempts_, 255));
  r->stream = fields_.stream;
  r->request_id.set(request_id_);
  r->model.set(fields_.model);
  r->target_model.set(target_model_);
  r->endpoint.set(attempts_ ? std::string_view(destination_) : std::string_view());
  env_.stats->access_log.commit();
}

// Where the next attempt goes (endpoints already tried are excluded).
RouteDecision Exchange::route_next() {
  if (attempts_ > 0 && !digested_) {
    // A retry runs after other requests used this worker's BodyReader: the prompt
    // views point into its reused buffers, so read the (unchanged) body again.
    const http::BodyBuffer& body = request_->body;
    env_.body_reader.read(body, body.capacity(), fields_);
  }
  RouteRequest route;
  route.model = target_model_;
  route.stats_target = stats_label(target_model_);
  route.prompt_parts = fields_.prompt_parts;
  route.body = request_->body;
  if (digested_) {
    route.prefix_chain = digest_.chain();
    route.chained = true;
  }
  const RequestRules& rules = *env_.rules;
  add_route_hints(route, *request_, rules);
  // A first dispatch under flow control never goes to a saturated endpoint (it waits
  // instead); a retry goes wherever is left.
  route.hold_when_saturated = attempts_ == 0 && env_.flow != nullptr && rules.flow.enabled;
  route.exclude = tried_;
  route.first_attempt = attempts_ == 0;
  return env_.router->route(route);
}

void Exchange::next_attempt() {
  const RouteDecision decision = route_next();
  if (decision.status != 0) {
    if (attempts_ > 0) {  // tried and failed everywhere it could
      if (is_timeout(last_failure_)) return end_with_error(504, "upstream_timeout", "upstream did not answer in time");
      return end_with_error(502, "upstream_unavailable", "upstream connection failed");
    }
    return end_with_error(decision.status, decision.code, decision.message);
  }
  dispatch(decision);
}

void Exchange::dispatch(const RouteDecision& decision) {
  if (attempts_ == 0) count_scheduled();
  ++attempts_;
  tried_.push_back(decision.endpoint_id);
  endpoint_id_ = decision.endpoint_id;
  endpoint_address_ = decision.address;
  destination_.assign(decision.endpoint_host).push_back(':');
  util::append_uint(destination_, decision.endpoint_port);
  env_.router->routed(decision.endpoint_id);
  holds_in_flight_ = true;
  const http::Request& request = *request_;
  const size_t body_length = model_token_.empty()
                                 ? request.body.size()
                                 : request.body.size() - fields_.model_length + model_token_.size();
  upstream_head_.clear();
  build_upstream_head(upstream_head_, request, request_id_, add_request_id_, body_length);
  open_attempt(/*allow_reuse=*/true);
}

void Exchange::open_attempt(bool allow_reuse) {
  RequestImage image;
  image.head = upstream_head_;
  image.body = request_->body;
  if (!model_token_.empty()) {
    image.model_offset = fields_.model_offset;
    image.model_length = fields_.model_length;
    image.model_token = model_token_;
  }
  attempt_ = env_.upstreams->open(endpoint_id_, endpoint_address_, allow_reuse, image, this);
  if (attempt_ == nullptr) on_attempt_failed(FailureKind::ConnectFailed);
}

void Exchange::drop_attempt(bool reusable, bool keep_body) {
  UpstreamAttempt* attempt = attempt_;
  attempt_ = nullptr;
  if (attempt == nullptr) return;
  http::BodyBuffer& body = request_->body;
  if (attempt->send_in_flight()) {
    // The kernel may still read the body: the attempt takes its heap block and frees it
    // after the send's last completion; a retry (rare) sends a copy.
    http::BodyBuffer copy;
    if (keep_body) copy = body;
    attempt->release(false, body);
    body = std::move(copy);
    if (keep_body) openai::BodyReader::pad(body);
    return;
  }
  attempt->release(reusable, body);
}

void Exchange::on_attempt_failed(FailureKind kind) {
  env_.counters->upstream_failures.add();
  const bool reused = attempt_ != nullptr && attempt_->reused();
  last_failure_ = kind;
  if (committed_) {  // bytes reached the client: only a visible end is left
    env_.router->endpoint_failed(endpoint_id_);
    if (kind == FailureKind::ReadIdleTimeout) {
      return end_with_error(504, "upstream_timeout", "upstream stopped sending mid-response");
    }
    return end_with_error(502, "upstream_broken", "upstream connection broke mid-response");
  }
  if (response_started_) {
    // A head arrived but no body byte: the client saw nothing yet. A server that died
    // now (before its first token) is routed around like one that never answered.
    response_started_ = false;
    pending_head_.clear();
    if (kind == FailureKind::Reset) {
      env_.router->endpoint_failed(endpoint_id_);
      return retry_elsewhere(kind);
    }
  }
  switch (kind) {
    case FailureKind::Reset:
      if (reused && !fresh_retry_used_) {
        // The server may have closed the pooled connection while idle: one retry on a
        // fresh connection to the same endpoint, within the same budget and deadline.
        drop_attempt(false, /*keep_body=*/true);
        if (!env_.options->retry_policy().allows_another(attempts_, started_ms_, now())) {
          return end_with_error(502, "upstream_unavailable", "upstream connection failed");
        }
        fresh_retry_used_ = true;
        ++attempts_;
        env_.counters->upstream_retries.add();
        return open_attempt(/*allow_reuse=*/false);
      }
      [[fallthrough]];
    case FailureKind::ConnectFailed:
    case FailureKind::ConnectTimeout: {
      // Nothing was answered: another endpoint may take the request.
      if (!reused) env_.router->endpoint_failed(endpoint_id_);
      return retry_elsewhere(kind);
    }
    case FailureKind::FirstByteTimeout:
    case FailureKind::ReadIdleTimeout:
      // The request was sent and may be running: not retried.
      env_.router->endpoint_failed(endpoint_id_);
      return end_with_error(504, "upstream_timeout", "upstream sent no response in time");
    case FailureKind::ErrorStatus:
    case FailureKind::Malformed:
      env_.router->endpoint_failed(endpoint_id_);
      keep_alive_ = false;
      return end_with_error(502, "upstream_protocol_error", "upstream sent a malformed or truncated response");
  }
}

// Nothing reached the client: the next endpoint, within the retry budget and deadline.
void Exchange::retry_elsewhere(FailureKind kind) {
  drop_attempt(false, /*keep_body=*/true);
  if (holds_in_flight_) {
    env_.router->released(endpoint_id_, sheddable_);
    holds_in_flight_ = false;
  }
  if (!env_.options->retry_policy().allows_another(attempts_, started_ms_, now())) {
    if (is_timeout(kind)) return end_with_error(504, "upstream_timeout", "upstream did not answer in time");
    return end_with_error(502, "upstream_unavailable", "upstream connection failed");
  }
  env_.counters->upstream_retries.add();
  next_attempt();
}

void Exchange::on_response_head(const http::ResponseParser& head) {
  const int status = head.status();
  if (status >= 500) {
    env_.router->endpoint_failed(endpoint_id_);
    if (retry_on_error_status(status)) return;
  } else {
    env_.router->endpoint_succeeded(endpoint_id_);
  }
  start_client_response(head);
}

// A 5xx head and nothing reached the client: another endpoint if one is left (true);
// otherwise the 5xx is relayed as it is.
bool Exchange::retry_on_error_status(int status) {
  if (status == 501 || status == 505) return false;
  if (!env_.options->retry_policy().allows_another(attempts_, started_ms_, now())) return false;
  // Route first: with no endpoint left, the 5xx in hand is the better answer.
  const RouteDecision decision = route_next();
  if (decision.status != 0) return false;
  env_.counters->upstream_retries.add();
  drop_attempt(false, /*keep_body=*/true);  // the rest of the error body is not wanted
  if (holds_in_flight_) {
    env_.router->released(endpoint_id_, sheddable_);
    holds_in_flight_ = false;
  }
  dispatch(decision);
  return true;
}

// The client's head is built now and held until the first body byte (commit_response):
// until then a server that dies can still be routed around unseen.
void Exchange::start_client_response(const http::ResponseParser& head) {
  response_started_ = true;
  relayed_tail_ = uint16_t('\n') << 8 | '\n';
  framing_ = choose_framing(head, http11_);
  if (framing_ == ClientFraming::CloseDelimited) keep_alive_ = false;
  const std::string_view type = http::find_header(head.headers(), "content-type");
  event_stream_ = fields_.stream || type.find("event-stream") != std::string_view::npos;
  status_ = head.status();
  first_byte_ns_ = steady_ns();
  std::string& out = pending_head_;
  out.clear();
  build_client_head(out, head, framing_, !keep_alive_, request_id_, destination_);
  if (!extra_headers_.empty()) out.insert(out.size() - 2, extra_headers_);  // before the head's blank line
  if (!http11_ && keep_alive_) insert_keep_alive(out, 0);
}

void Exchange::commit_response() {
  committed_ = true;
  from_model_server_ = true;
  env_.counters->responses_by_class[status_ >= 100 && status_ < 600 ? status_ / 100 : 5].add();
  client_.output() += pending_head_;
  pending_head_.clear();
}

void Exchange::emit_body(std::string_view data) {
  std::string& out = client_.output();
  if (framing_ == ClientFraming::Chunked) append_chunk(out, data);
  else out += data;
}

void Exchange::on_response_body(std::string_view decoded) {
  if (!response_started_ || decoded.empty()) return;
  if (!committed_) commit_response();
  if (!decoded.empty()) {
    // Where the relayed bytes end, so that an error event can start an event of its own.
    relayed_tail_ = uint16_t((relayed_tail_ << 8) | uint8_t(decoded.back()));
    if (decoded.size() >= 2) relayed_tail_ = uint16_t((uint8_t(decoded[decoded.size() - 2]) << 8) | uint8_t(decoded.back()));
  }
  if (objective_) observe_body(decoded);
  emit_body(decoded);
  if (attempt_ && client_.output().size() > env_.options->max_client_buffer_bytes) {
    attempt_->pause_reading(true);  // slow client: backpressure
  }
  client_.flush();
}

void Exchange::on_response_end(bool reusable) {
  if (!committed_) commit_response();
  if (framing_ == ClientFraming::Chunked) client_.output() += "0\r\n\r\n";
  drop_attempt(reusable && !env_.draining, /*keep_body=*/false);
  finish(keep_alive_);
}

void Exchange::client_drained() {
  if (attempt_) attempt_->pause_reading(false);
}

void Exchange::client_gone() {
  if (!active_) return;
  leave_flow(FlowOutcome::EvictedContextCancelled);  // a waiting request leaves the queue at once
  if (attempt_) {
    // The server stops generating once its connection goes.
    env_.counters->client_disconnects_mid_response.add();
    drop_attempt(false, /*keep_body=*/false);
  }
  if (holds_in_flight_) {
    env_.router->released(endpoint_id_, sheddable_);
    holds_in_flight_ = false;
  }
  request_timer_.cancel();
  settle_rate();
  record();
  active_ = false;
}

void Exchange::drain_started() {
  // A response whose head already promised keep-alive ends with the connection open
  // (the client may have sent its next request already); any other says close.
  if (!response_started_) keep_alive_ = false;
}

void Exchange::cut_at_shutdown() {
  if (!active_) return;
  keep_alive_ = false;
  end_with_error(503, "gateway_shutdown", committed_ ? "the gateway shut down before the response ended"
                                                             : "the gateway shut down before the response began");
}

void Exchange::on_timer(net::Timer&) {
  // timeouts.request: the whole request, however many attempts and bytes it took.
  if (!active_) return;
  if (attempt_) env_.counters->upstream_failures.add();
  end_with_error(504, "request_timeout", "the request did not complete within the gateway's request timeout");
}

// The request is over, however it ended: its timer, its in-flight count, its statistics.
void Exchange::close_out() {
  leave_flow(FlowOutcome::EvictedContextCancelled);  // a timeout or a drain cut while queued
  request_timer_.cancel();
  settle_rate();
  digest_.trim();
  if (holds_in_flight_) {
    env_.router->released(endpoint_id_, sheddable_);
    holds_in_flight_ = false;
  }
  record();
  active_ = false;
}

void Exchange::finish(bool keep_alive) {
  close_out();
  // Last: the client may start its next (pipelined) request on this same Exchange.
  client_.exchange_finished(keep_alive);
}

void Exchange::end_with_error(int status, std::string_view code, std::string_view message,
                              std::string_view retry_after) {
  drop_attempt(false, /*keep_body=*/false);
  if (!committed_) {
    response_started_ = false;
    env_.counters->gateway_errors.add();
    env_.counters->responses_by_class[status / 100].add();
    status_ = status;
    std::string& out = client_.output();
    const size_t head_start = out.size();
    if (retry_after.empty()) {
      http::append_error(out, status, code, message, !keep_alive_, extra_headers_);
    } else {
      std::string headers = extra_headers_;
      headers += retry_after;
      http::append_error(out, status, code, message, !keep_alive_, headers);
    }
    if (!http11_ && keep_alive_) insert_keep_alive(out, head_start);
    return finish(keep_alive_);
  }
  env_.counters->streams_broken.add();
  if (framing_ == ClientFraming::Chunked && event_stream_) {
    // A stream ends with an error event and a proper end of its chunked body: the
    // connection stays usable (the client saw the body end cleanly, it may pool it).
    // A stream cut mid-event: a blank line first, so that an SSE client reads the error
    // as an event of its own, not as the tail of the cut one.
    std::string event = relayed_tail_ == (uint16_t('\n') << 8 | '\n') ? "data: " : "\n\ndata: ";
    event += http::error_body(status, code, message);
    event += "\n\n";
    append_chunk(client_.output(), event);
    client_.output() += "0\r\n\r\n";
    return finish(keep_alive_);
  }
  // Any other body was cut: it must look cut (no terminating chunk, fewer bytes than
  // its Content-Length, then the connection aborted), never complete.
  close_out();
  client_.exchange_aborted();
}

}  // namespace ringgate::proxy
