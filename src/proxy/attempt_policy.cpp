#include "ringgate/proxy/attempt_policy.h"

#include <algorithm>

namespace ringgate::proxy {

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

namespace {

bool is_timeout(FailureKind kind) {
  return kind == FailureKind::ConnectTimeout || kind == FailureKind::FirstByteTimeout ||
         kind == FailureKind::ReadIdleTimeout;
}

AttemptPlan give_up(int status, std::string_view code, std::string_view message, bool blame) {
  AttemptPlan plan;
  plan.step = NextStep::GiveUp;
  plan.blame_endpoint = blame;
  plan.status = status;
  plan.code = code;
  plan.message = message;
  return plan;
}

AttemptPlan step(NextStep next, bool blame) {
  AttemptPlan plan;
  plan.step = next;
  plan.blame_endpoint = blame;
  return plan;
}

}  // namespace

AttemptPlan AttemptPolicy::broken_stream(bool stalled) {
  return stalled ? give_up(504, "upstream_timeout", "upstream stopped sending mid-response", false)
                 : give_up(502, "upstream_broken", "upstream connection broke mid-response", false);
}

AttemptPlan AttemptPolicy::continuation_blocked(metrics::MigrationReason why, std::string_view detail,
                                                const RequestProgress& p) {
  AttemptPlan plan = broken_stream(p.stalled);
  plan.detail = detail;
  plan.not_continued = why;
  return plan;
}

AttemptPlan AttemptPolicy::after_failure(const AttemptFailure& f, const RequestProgress& p) const {
  AttemptPlan plan = failure_plan(f, p);
  // Racing, the other attempt is this one's retry: whatever this one's plan was, only its blame stands.
  if (p.racing) return step(NextStep::Rival, plan.blame_endpoint);
  // What else the server sent on the connection after an error status or a malformed answer is unknown.
  if (plan.step == NextStep::GiveUp && (f.kind == FailureKind::ErrorStatus || f.kind == FailureKind::Malformed))
    plan.close_client = true;
  return plan;
}

AttemptPlan AttemptPolicy::failure_plan(const AttemptFailure& f, const RequestProgress& p) const {
  if (f.delivered) {
    // Bytes reached the client: the stream goes on elsewhere, or ends visibly broken.
    AttemptPlan plan = broken_stream(f.kind == FailureKind::ReadIdleTimeout);
    plan.blame_endpoint = true;
    if (!migration_.enabled)
      plan.not_continued = metrics::MigrationReason::Disabled;
    else if (!p.continuable)
      plan.not_continued = metrics::MigrationReason::Unsupported;
    else if (p.migrations >= migration_.max_per_request)
      plan.not_continued = metrics::MigrationReason::MaxPerRequest;
    else plan = step(NextStep::Continuation, true);
    return plan;
  }
  const bool timeout = is_timeout(f.kind);
  auto elsewhere = [&](bool blame) {
    if (budget_left(p)) {
      if (!p.pinned) return step(NextStep::OtherEndpoint, blame);
      AttemptPlan plan = no_endpoint_left(f.kind, true);  // never elsewhere
      plan.blame_endpoint = blame;
      return plan;
    }
    return timeout ? give_up(504, "upstream_timeout", "upstream did not answer in time", blame)
                   : give_up(502, "upstream_unavailable", "upstream connection failed", blame);
  };
  // A head arrived but none of its body reached the client: a server that died now
  // (before its first token) is routed around like one that never answered.
  if (f.response_started && f.kind == FailureKind::Reset) return elsewhere(true);
  switch (f.kind) {
    case FailureKind::Reset:
      if (f.reused && !p.fresh_retry_used) {
        // The server may have closed the pooled connection while idle: one retry on a
        // fresh connection to the same endpoint, within the same budget and deadline.
        if (!budget_left(p)) return give_up(502, "upstream_unavailable", "upstream connection failed", false);
        return step(NextStep::FreshConnection, false);
      }
      [[fallthrough]];
    case FailureKind::ConnectFailed:
    case FailureKind::ConnectTimeout:
      // Nothing was answered: another endpoint may take the request. A pooled
      // connection's failure says little about its endpoint.
      return elsewhere(!f.reused);
    case FailureKind::FirstByteTimeout:
    case FailureKind::ReadIdleTimeout:
      // The request was sent and may be running: not retried.
      return give_up(504, "upstream_timeout", "upstream sent no response in time", true);
    case FailureKind::ErrorStatus:
    case FailureKind::Malformed:
      return give_up(502, "upstream_protocol_error", "upstream sent a malformed or truncated response", true);
  }
  return give_up(502, "upstream_unavailable", "upstream connection failed", true);
}

bool AttemptPolicy::retries_error_status(int status, const RequestProgress& progress) const {
  if (progress.pinned) return false;                 // its server or none
  if (status == 501 || status == 505) return false;  // another server would say the same
  if (status == 508) return false;                   // a loop of gateways downstream: another try only loops again
  return budget_left(progress);
}

AttemptPlan AttemptPolicy::no_endpoint_left(FailureKind last, bool pinned) const {
  if (pinned && last == FailureKind::ConnectFailed) {
    AttemptPlan plan = give_up(0, {}, {}, false);  // the caller words "gone"
    plan.response_gone = true;
    return plan;
  }
  if (is_timeout(last)) return give_up(504, "upstream_timeout", "upstream did not answer in time", false);
  return give_up(502, "upstream_unavailable", "upstream connection failed", false);
}

HeadPlan AttemptPolicy::after_head(int status, const RequestProgress& p) const {
  const bool ok = status >= 200 && status < 300;
  HeadPlan plan;
  if (p.racing) {
    // A 2xx is held; anything else takes it out of the race (the other answers alone,
    // whatever it has to say).
    plan.step = ok ? HeadStep::Race : HeadStep::Rival;
    plan.credit_endpoint = ok;
    plan.blame_endpoint = status >= 500;
    return plan;
  }
  if (status >= 500) {
    plan.blame_endpoint = true;
    plan.elsewhere_first = retries_error_status(status, p);
  } else if (!p.continuing || ok) {
    plan.credit_endpoint = true;
  }
  if (!p.continuing) return plan;  // Relay
  // The client has its head already: only a 2xx goes on.
  if (ok) {
    plan.step = HeadStep::Continue;
    return plan;
  }
  plan.step = HeadStep::GiveUp;
  plan.give_up = continuation_blocked(metrics::MigrationReason::ContinuationRefused,
                                      "the continuation of the stream was refused", p);
  return plan;
}

AttemptPlan AttemptPolicy::after_no_endpoint(FailureKind last, bool may_hold, const RequestProgress& p) const {
  if (p.continuing)
    return continuation_blocked(metrics::MigrationReason::NoEndpoint, "no model server left to continue the stream on",
                                p);
  if (may_hold) return step(NextStep::WaitForServer, false);
  if (p.attempts == 0 || p.pinned) {
    AttemptPlan plan = give_up(0, {}, {}, false);  // the caller words the router's answer
    plan.routers_answer = true;
    return plan;
  }
  return no_endpoint_left(last, /*pinned=*/false);  // tried and failed everywhere it could
}

AttemptPlan AttemptPolicy::prefill_after_failure(const AttemptFailure& f, bool fresh_retry_used) {
  if (f.reused && !f.response_started && !fresh_retry_used &&
      (f.kind == FailureKind::Reset || f.kind == FailureKind::ConnectFailed))
    return step(NextStep::FreshConnection, false);
  return step(NextStep::OtherEndpoint, true);
}

bool AttemptPolicy::fails_whole_server(FailureKind kind) {
  return kind == FailureKind::ConnectFailed || kind == FailureKind::ConnectTimeout || kind == FailureKind::Reset;
}

bool AttemptPolicy::continuation_may_return(std::span<const uint32_t> tried, std::span<const uint32_t> broke_mid_stream,
                                            std::vector<uint32_t>& exclude) {
  exclude.clear();
  if (broke_mid_stream.size() < 2) return false;
  const uint32_t last = broke_mid_stream.back();
  const auto earlier = broke_mid_stream.first(broke_mid_stream.size() - 1);
  for (uint32_t id : tried)
    if (id == last || std::find(earlier.begin(), earlier.end(), id) == earlier.end()) exclude.push_back(id);
  return true;
}

}  // namespace ringgate::proxy
