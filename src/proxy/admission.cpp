#include "ringgate/proxy/admission.h"

#include <algorithm>
#include <cstdio>

#include "ringgate/http/headers.h"
#include "ringgate/proxy/route_hints.h"
#include "ringgate/util/monotonic_clock.h"

namespace ringgate::proxy {

namespace {

// llm-d's flow identity (fairness_id label). A client picks it, so it is bounded: a long
// or control-byte value reads as "other", and the stats table caps how many there are.
// GAIE's spelling first, then llm-d's.
constexpr std::string_view kFairnessIdHeader = "x-gateway-inference-fairness-id";
constexpr std::string_view kFairnessIdHeaderLlmd = "x-llm-d-inference-fairness-id";
constexpr size_t kMaxFairnessIdBytes = 128;

AdmissionDecision refuse_admission(int status, std::string_view code, std::string_view message,
                                   std::string_view retry_after = {}) {
  return {AdmissionVerdict::Refused, status, code, message, retry_after};
}

}  // namespace

// llm-d's x-llm-d-request-dropped-reason on every flow-control refusal, with Retry-After.
const std::string_view kRefusedCapacity = "retry-after: 1\r\nx-llm-d-request-dropped-reason: rejected-capacity\r\n";
const std::string_view kRefusedNoEndpoints =
    "retry-after: 1\r\nx-llm-d-request-dropped-reason: rejected-no-endpoints\r\n";
const std::string_view kEvictedTtl = "retry-after: 1\r\nx-llm-d-request-dropped-reason: rejected-ttl-expired\r\n";
const std::string_view kEvictedDisplaced = "retry-after: 1\r\nx-llm-d-request-dropped-reason: evicted-displaced\r\n";

namespace {}  // namespace

void Admission::begin(const http::Request& request, const ApiKey* key) {
  request_ = &request;
  keyed_ = key != nullptr;
  if (keyed_) {
    tenant_.assign(key->tenant);
    key_limits_ = key->limits;
  }
  const std::string_view objective = objective_name(request);
  priority_ = env_.rules->priority(objective);
  sheddable_ = env_.rules->sheddable(objective);
  queued_ = false;
  rate_active_ = false;
  fairness_label_ = metrics::kDefaultFairnessId;
  extra_headers_.clear();
}

std::string_view Admission::fairness_id() const {
  if (keyed_) return tenant_;  // bounded by the keys file
  std::string_view id = request_->header(kFairnessIdHeader);
  if (id.empty()) id = request_->header(kFairnessIdHeaderLlmd);
  if (id.empty()) return metrics::kDefaultFairnessId;
  if (id.size() > kMaxFairnessIdBytes || http::has_control_bytes(id)) return metrics::kOtherModelLabel;
  return id;
}

void Admission::label_values(bool admitted) {
  fairness_label_ =
      metrics::bounded_label(env_.labels, *env_.stats, metrics::LabelFamily::FairnessId, fairness_id(), admitted);
  if (rate_active_ && env_.labels != nullptr && admitted) env_.labels->tenants.admit(rate_tenant(), true);
}

std::string_view Admission::rate_tenant() const {
  return keyed_ ? std::string_view(tenant_) : request_->header(env_.rules->tenant_header);
}

// Token and request budgets of the request's tenant. Every answer of the request
// carries the x-ratelimit-* headers of this decision.
AdmissionDecision Admission::admit_rate() {
  const RequestRules& rules = *env_.rules;
  // With auth on, the key names the tenant (its header is the client's to forge) and
  // may set budgets of its own.
  const RateLimitPolicy& policy = keyed_ && key_limits_.active() ? key_limits_ : rules.rate_limits;
  if (env_.limiter == nullptr || !policy.active()) return {};
  const std::string_view tenant = rate_tenant();
  if (tenant.size() > kMaxFairnessIdBytes || http::has_control_bytes(tenant))
    return refuse_admission(400, "invalid_tenant", "the tenant header is longer than 128 bytes or holds control bytes");
  // Admission estimate: about 4 bytes of prompt per token, as OpenAI's own estimate.
  estimated_tokens_ = request_->body.size() / 4;
  rate_ = env_.limiter->admit(tenant, estimated_tokens_, policy, now());
  append_rate_limit_headers(extra_headers_, policy, rate_);
  if (!rate_.allowed) {
    // A refusal adds no label value: a tenant reads as itself once one of its requests was admitted.
    const std::string_view label = metrics::bounded_label(env_.labels, *env_.stats, metrics::LabelFamily::Tenant,
                                                          tenant.empty() ? metrics::kDefaultFairnessId : tenant, false);
    env_.stats->rate_limit_rejections
        .find_or_add(metrics::rate_limit_key(label, rate_.tokens_exhausted, env_.key_scratch))
        .add();
    const int n = std::snprintf(retry_after_, sizeof retry_after_, "retry-after: %llu\r\n",
                                static_cast<unsigned long long>(std::max<uint64_t>(1, (rate_.reset_ms + 999) / 1000)));
    return refuse_admission(429, rate_.tokens_exhausted ? "rate_limit_exceeded_tokens" : "rate_limit_exceeded_requests",
                            rate_.tokens_exhausted ? "the tenant's tokens-per-minute budget is spent"
                                                   : "the tenant's requests-per-minute budget is spent",
                            std::string_view(retry_after_, size_t(n)));
  }
  rate_active_ = true;
  return {};
}

void Admission::settle(int64_t prompt_tokens, int64_t completion_tokens, bool reached_server) {
  if (!rate_active_) return;
  rate_active_ = false;
  int64_t actual = 0;
  if (prompt_tokens > 0) actual = prompt_tokens + std::max<int64_t>(0, completion_tokens);
  else if (reached_server) return;  // ran, but reported no usage: the estimate stays
  env_.limiter->correct(rate_.slot, rate_.window_start_ms, actual - int64_t(estimated_tokens_));
}

void Admission::start_waiting(FlowWaiter* waiter, std::string_view model, std::string_view target) {
  waiter_ = waiter;
  queued_ = true;
  queued_at_ns_ = util::steady_ns();
  metrics::FlowBandStats& band =
      metrics::flow_series(*env_.stats, priority_, fairness_label_, model, target, env_.key_scratch);
  flow_stats_ = &band;
  band.queued.add(1);
  band.queued_bytes.add(int64_t(request_->body.size()));
}

AdmissionDecision Admission::enqueue(FlowWaiter* waiter, std::string_view model, std::string_view target, bool offer) {
  if (!queued_) start_waiting(waiter, model, target);
  if (held_) {
    held_ = false;
    flow_stats_->held.add(-1);
  }
  queue_ = env_.flow;
  if (!env_.flow->enqueue(waiter, priority_, fairness_id(), request_->body.size(), *env_.flow_limits, now(), offer)) {
    leave_flow(FlowOutcome::RejectedCapacity);
    return refuse_admission(sheddable_ ? 429 : 503, "queue_full",
                            "every model server is saturated and the gateway's queue for this priority is full",
                            kRefusedCapacity);
  }
  return {AdmissionVerdict::Queued, 0, {}, {}, {}};
}

AdmissionDecision Admission::hold(FlowWaiter* waiter, std::string_view target_model, std::string_view model_label,
                                  std::string_view target_label) {
  if (!queued_) start_waiting(waiter, model_label, target_label);
  FlowQueue* queue =
      env_.hold->hold(waiter, target_model, priority_, fairness_id(), request_->body.size(), *env_.flow_limits, now());
  if (queue == nullptr) {
    queue_ = nullptr;
    leave_flow(FlowOutcome::RejectedNoEndpoints);
    return refuse_admission(503, "no_endpoint",
                            "no model server serves the requested model and the gateway holds no more requests for it",
                            kRefusedNoEndpoints);
  }
  queue_ = queue;
  held_ = true;
  flow_stats_->held.add(1);
  return {AdmissionVerdict::Queued, 0, {}, {}, {}};
}

void Admission::observe_flow(FlowOutcome outcome) {
  metrics::FlowBandStats& band = *flow_stats_;
  band.queued.add(-1);
  band.queued_bytes.add(-int64_t(request_->body.size()));
  band.queue_duration[size_t(outcome)].observe(double(util::steady_ns() - queued_at_ns_) / 1e9,
                                               metrics::kFlowQueueDurationBuckets);
}

void Admission::leave_flow(FlowOutcome outcome) {
  if (!queued_) return;
  queued_ = false;
  if (held_) {
    held_ = false;
    flow_stats_->held.add(-1);
  }
  if ((outcome == FlowOutcome::EvictedContextCancelled || outcome == FlowOutcome::RejectedCapacity) &&
      queue_ != nullptr)
    queue_->remove(waiter_);
  queue_ = nullptr;
  observe_flow(outcome);
}

}  // namespace ringgate::proxy
