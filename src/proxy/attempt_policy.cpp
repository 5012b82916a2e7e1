#include "ringgate/proxy/attempt_policy.h"

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

AttemptPlan AttemptPolicy::after_failure(const AttemptFailure& f, const RequestProgress& p) const {
  if (f.delivered) {
    // Bytes reached the client: the stream goes on elsewhere, or ends visibly broken.
    AttemptPlan plan = f.kind == FailureKind::ReadIdleTimeout
                           ? give_up(504, "upstream_timeout", "upstream stopped sending mid-response", true)
                           : give_up(502, "upstream_broken", "upstream connection broke mid-response", true);
    if (!migration_.enabled) plan.not_continued = "disabled";
    else if (!p.continuable) plan.not_continued = "unsupported";
    else if (p.migrations >= migration_.max_per_request) plan.not_continued = "max_per_request";
    else plan = step(NextStep::Continuation, true);
    return plan;
  }
  const bool timeout = is_timeout(f.kind);
  auto elsewhere = [&](bool blame) {
    if (budget_left(p)) return step(NextStep::OtherEndpoint, blame);
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
  if (status == 501 || status == 505) return false;  // another server would say the same
  return budget_left(progress);
}

}  // namespace ringgate::proxy
