#pragma once
// Whether a request may go to a model server now: its tenant's rate budgets, then flow
// control (the request waits in the gateway while every candidate is saturated). Each
// step returns a decision; the Exchange acts on it. What a decision costs is settled
// here too: the rate estimate is corrected by the answer's usage, once per request.
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/http/request_parser.h"
#include "ringgate/proxy/api_key_table.h"
#include "ringgate/proxy/exchange_env.h"
#include "ringgate/proxy/flow_queue.h"
#include "ringgate/proxy/model_hold.h"
#include "ringgate/proxy/rate_limiter.h"

namespace ringgate::proxy {

enum class AdmissionVerdict : uint8_t {
  Go,       // send it now
  Queued,   // it waits in the flow-control queue (which may have dispatched it already)
  Refused,  // answer the error below
};

// The header lines of a flow-control refusal: Retry-After and llm-d's
// x-llm-d-request-dropped-reason (rejected-capacity, rejected-no-endpoints,
// rejected-ttl-expired, and ringgate's evicted-displaced).
extern const std::string_view kRefusedCapacity;
extern const std::string_view kRefusedNoEndpoints;
extern const std::string_view kEvictedTtl;
extern const std::string_view kEvictedDisplaced;

struct AdmissionDecision {
  AdmissionVerdict verdict = AdmissionVerdict::Go;
  int status = 0;
  std::string_view code, message;
  std::string_view retry_after;  // a "retry-after: N\r\n" line, or empty
};

class Admission {
 public:
  explicit Admission(ExchangeEnv& env) : env_(env) {}

  // A new request: its objective's priority and sheddability; `key` (auth on, else null)
  // names its tenant and may bring budgets of its own (copied: valid during this call only).
  void begin(const http::Request& request, const ApiKey* key = nullptr);
  // The tenant's token and request budgets.
  AdmissionDecision admit_rate();
  // Flow control is on for this worker's rules.
  bool flow_enabled() const { return env_.flow != nullptr && env_.rules->flow.enabled; }
  // Joins the flow-control queue: Queued (its dispatch cycle runs at once, so with room
  // in the pool the waiter was dispatched before this returns: nothing may follow), or
  // Refused when the queue is full. `model` / `target`: its series' model labels (bounded).
  // `offer`: false when the caller just found the pool saturated (a held request whose
  // model's server appeared): no dispatch now, and its TTL starts afresh.
  AdmissionDecision enqueue(FlowWaiter* waiter, std::string_view model, std::string_view target, bool offer = true);
  // Whether a request that found no ready server for its model waits for one (ModelHold).
  bool may_hold() const {
    return env_.hold != nullptr && env_.flow_limits != nullptr && env_.flow_limits->no_endpoint_ttl_ms > 0;
  }
  // Waits for a server of `target_model` (ModelHold): Queued, or Refused (503) when the
  // holding bounds are full. From the flow-control queue (its dispatch took it out) too:
  // the wait goes on in the same series.
  AdmissionDecision hold(FlowWaiter* waiter, std::string_view target_model, std::string_view model_label,
                         std::string_view target_label);
  bool held() const { return held_; }
  // Out of the queue however it left (dispatch, eviction, the client going, a timeout).
  void leave_flow(FlowOutcome outcome);
  // The estimate made at admission, replaced by what the answer's usage reports
  // (prompt_tokens < 0: none reported); a request that never reached a model server
  // gives its estimate back. Once per request.
  void settle(int64_t prompt_tokens, int64_t completion_tokens, bool reached_server);

  int32_t priority() const { return priority_; }
  bool sheddable() const { return sheddable_; }
  bool queued() const { return queued_; }
  bool rate_limited() const { return rate_active_; }  // a tenant budget admitted it
  bool keyed() const { return keyed_; }  // the request presented an API key (auth on)
  // llm-d's flow identity, bounded in length: the key's tenant when auth is on.
  std::string_view fairness_id() const;
  // The request was admitted (`admitted`: and names a model the pool knows): its fairness
  // id and tenant may become label values (metrics.maxLabelValues). Before enqueue().
  void label_values(bool admitted);
  // The fairness_id label of its series: fairness_id() or "other".
  std::string_view fairness_label() const { return fairness_label_; }
  // The x-ratelimit-* lines every answer of the request carries.
  const std::string& extra_headers() const { return extra_headers_; }

 private:
  uint64_t now() const { return *env_.now_ms; }
  std::string_view rate_tenant() const;  // whose budgets apply
  void observe_flow(FlowOutcome outcome);
  // The series of a request that starts to wait.
  void start_waiting(FlowWaiter* waiter, std::string_view model, std::string_view target);

  ExchangeEnv& env_;
  const http::Request* request_ = nullptr;
  int32_t priority_ = 0;
  bool sheddable_ = false;
  bool queued_ = false;
  FlowWaiter* waiter_ = nullptr;  // while queued
  FlowQueue* queue_ = nullptr;    // the queue it waits in (the worker's, or a held model's)
  bool held_ = false;             // queued in a ModelHold queue
  uint64_t queued_at_ns_ = 0;
  metrics::FlowBandStats* flow_stats_ = nullptr;  // its (priority, fairness id) series while queued
  std::string_view fairness_label_;
  bool keyed_ = false;          // auth on: tenant_ and key_limits_ are the key's
  std::string tenant_;
  RateLimitPolicy key_limits_;
  bool rate_active_ = false;
  RateDecision rate_;
  uint64_t estimated_tokens_ = 0;
  char retry_after_[48] = {};
  std::string extra_headers_;
};

}  // namespace ringgate::proxy
