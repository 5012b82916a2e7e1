#include "ringgate/proxy/prefill_leg.h"

#include <cassert>
#include <utility>

#include "ringgate/openai/disaggregated_request.h"
#include "ringgate/openai/request_body.h"
#include "ringgate/proxy/attempt_policy.h"

namespace ringgate::proxy {

void PrefillLeg::start(RouteTicket ticket, const RouteDecision& decision, std::string_view head, std::string_view body,
                       LegTrace trace, bool add_host) {
  active_ = true;
  trace_ = trace;
  add_host_ = add_host;
  started_ms_ = *env_.now_ms;
  head_.assign(head);
  body_.assign(body);
  openai::BodyReader::pad(body_);
  tried_.clear();
  if (env_.options->disaggregation.prefill_timeout_ms)
    env_.timers->arm(timer_, env_.options->disaggregation.prefill_timeout_ms, started_ms_);
  open(std::move(ticket), decision);
}

void PrefillLeg::open(RouteTicket ticket, const RouteDecision& decision) {
  tried_.push_back(decision.endpoint_id);
  fresh_retry_used_ = false;
  answer_.clear();
  assert(!attempt_->active() && !attempt_->connected() && "a new try before the last one ended");
  Attempt& attempt = attempt_.emplace(env_, *this);
  if (!attempt.open(std::move(ticket), decision, body_, image(), /*token_first=*/true))
    attempt_failed(attempt, FailureKind::ConnectFailed);
}

void PrefillLeg::cancel() {
  if (!active_) return;
  active_ = false;
  timer_.cancel();
  attempt_->end(false, /*keep_body=*/false);
}

// One prefill pod more when allowed and one is left; else the request goes decode-only.
void PrefillLeg::fail(PrefillFailure why, bool may_retry) {
  env_.stats->disaggregation.prefill_failures[size_t(why)].add();
  attempt_->end(false, /*keep_body=*/true);
  if (may_retry && tried_.size() < kMaxPods) {
    Routed next = owner_.route_prefill(tried_);
    if (next.ok()) {
      env_.counters->upstream_retries.add();
      return open(std::move(next.ticket), next.decision);
    }
  }
  done({});
}

void PrefillLeg::done(std::string_view kv_transfer_params) {
  active_ = false;
  timer_.cancel();
  env_.stats->disaggregation.leg_duration[0].observe(double(*env_.now_ms - started_ms_) / 1e3,
                                                     metrics::kPdLegDurationBuckets);
  if (kv_transfer_params.empty()) env_.stats->disaggregation.decode_only_fallbacks.add();
  owner_.prefill_done(kv_transfer_params);
}

void PrefillLeg::attempt_head(Attempt& attempt, const http::ResponseParser& head) {
  const int status = head.status();
  if (status >= 200 && status < 300) return attempt.credit();
  if (status >= 500) {
    attempt.blame();
    return fail(PrefillFailure::ErrorStatus, true);
  }
  // The request itself was refused: the decode pod will say so to the client.
  fail(PrefillFailure::ClientError, false);
}

void PrefillLeg::attempt_body(Attempt&, std::string_view decoded) {
  if (answer_.size() + decoded.size() > kMaxAnswerBytes) return fail(PrefillFailure::Malformed, false);
  answer_ += decoded;
}

void PrefillLeg::attempt_end(Attempt&, bool reusable) {
  std::string_view params;
  const openai::PrefillAnswerError error = openai::read_prefill_answer(answer_, params);
  if (error != openai::PrefillAnswerError::None)
    return fail(error == openai::PrefillAnswerError::NoParams ? PrefillFailure::NoParams : PrefillFailure::Malformed,
                false);
  attempt_->end(reusable && !env_.draining, /*keep_body=*/false);
  done(params);  // a view into answer_, which stays put until the next start()
}

void PrefillLeg::attempt_failed(Attempt& attempt, FailureKind kind) {
  env_.counters->upstream_failures.add();
  const AttemptPlan plan = AttemptPolicy::prefill_after_failure(
      {kind, attempt.reused(), attempt.response_started(), /*delivered=*/false}, fresh_retry_used_);
  if (plan.step == NextStep::FreshConnection) {  // a pooled connection the server had closed
    fresh_retry_used_ = true;
    attempt_->drop_channel();
    if (!attempt_->reopen(image())) attempt_failed(*attempt_, FailureKind::ConnectFailed);
    return;
  }
  if (plan.blame_endpoint) attempt.blame();
  const bool may_retry = plan.step == NextStep::OtherEndpoint;
  switch (kind) {
    case FailureKind::ConnectFailed: return fail(PrefillFailure::ConnectFailed, may_retry);
    case FailureKind::ConnectTimeout:
    case FailureKind::FirstByteTimeout:
    case FailureKind::ReadIdleTimeout: return fail(PrefillFailure::Timeout, may_retry);
    case FailureKind::Reset: return fail(PrefillFailure::Reset, may_retry);
    case FailureKind::ErrorStatus: return fail(PrefillFailure::ErrorStatus, may_retry);
    case FailureKind::Malformed: return fail(PrefillFailure::Malformed, may_retry);
  }
}

void PrefillLeg::on_timer(net::Timer&) {
  if (!active_) return;
  if (attempt_->connected()) env_.counters->upstream_failures.add();
  // The whole leg's time is spent: no second pod (the decode pod prefills at once).
  fail(PrefillFailure::Timeout, false);
}

}  // namespace ringgate::proxy
