// AttemptPolicy, table by table: every "what next" of a request from plain data (no
// exchange, no sockets). A new retry rule is a row here and a line in attempt_policy.cpp.
#include <doctest/doctest.h>

#include <string_view>
#include <vector>

#include "ringgate/proxy/attempt_policy.h"

using namespace ringgate;
using namespace ringgate::proxy;

namespace {

// A reason's metric label ("" for none).
std::string_view label(std::optional<metrics::MigrationReason> reason) {
  return reason ? metrics::name(*reason) : std::string_view();
}

constexpr uint32_t kMaxAttempts = 3;
constexpr uint32_t kDeadlineMs = 5000;

AttemptPolicy policy(bool migration = true, uint32_t max_migrations = 2) {
  MigrationOptions m;
  m.enabled = migration;
  m.max_per_request = max_migrations;
  return AttemptPolicy(RetryBudget{kMaxAttempts, kDeadlineMs}, m);
}

RequestProgress fresh() {
  RequestProgress p;
  p.leg_attempts = 1;
  p.leg_started_ms = 1000;
  p.now_ms = 1000;
  return p;
}

const char* step_name(NextStep s) {
  switch (s) {
    case NextStep::FreshConnection: return "fresh";
    case NextStep::OtherEndpoint: return "other";
    case NextStep::Continuation: return "continue";
    case NextStep::Rival:
      return "rival";
    case NextStep::WaitForServer:
      return "wait";
    case NextStep::GiveUp: return "give_up";
  }
  return "?";
}

const char* head_step_name(HeadStep s) {
  switch (s) {
    case HeadStep::Relay:
      return "relay";
    case HeadStep::Race:
      return "race";
    case HeadStep::Rival:
      return "rival";
    case HeadStep::Continue:
      return "continue";
    case HeadStep::GiveUp:
      return "give_up";
  }
  return "?";
}

}  // namespace

TEST_CASE("after_failure before any byte reached the client") {
  struct Row {
    FailureKind kind;
    bool reused, response_started, fresh_retry_used, budget_spent, pinned;
    NextStep step;
    int status;  // GiveUp's
    bool blame;
  };
  using K = FailureKind;
  using S = NextStep;
  const Row rows[] = {
      // nothing was sent: elsewhere within the budget, else 502 / 504
      {K::ConnectFailed, false, false, false, false, false, S::OtherEndpoint, 0, true},
      {K::ConnectFailed, false, false, false, true, false, S::GiveUp, 502, true},
      {K::ConnectTimeout, false, false, false, false, false, S::OtherEndpoint, 0, true},
      {K::ConnectTimeout, false, false, false, true, false, S::GiveUp, 504, true},
      // a pooled connection reset: one fresh connection to the same endpoint, unblamed
      {K::Reset, true, false, false, false, false, S::FreshConnection, 0, false},
      {K::Reset, true, false, false, true, false, S::GiveUp, 502, false},
      {K::Reset, true, false, true, false, false, S::OtherEndpoint, 0, false},
      {K::Reset, false, false, false, false, false, S::OtherEndpoint, 0, true},
      // a head arrived, then the connection died before any byte reached the client
      {K::Reset, true, true, false, false, false, S::OtherEndpoint, 0, true},
      // the request may be running: not retried
      {K::FirstByteTimeout, false, false, false, false, false, S::GiveUp, 504, true},
      {K::ReadIdleTimeout, false, true, false, false, false, S::GiveUp, 504, true},
      {K::ErrorStatus, false, true, false, false, false, S::GiveUp, 502, true},
      {K::Malformed, false, true, false, false, false, S::GiveUp, 502, true},
      // pinned (a Responses API response's server): never elsewhere
      {K::ConnectFailed, false, false, false, false, true, S::GiveUp, 0, true},
      {K::ConnectTimeout, false, false, false, false, true, S::GiveUp, 504, true},
      {K::Reset, false, false, false, false, true, S::GiveUp, 502, true},
      {K::Reset, true, false, false, false, true, S::FreshConnection, 0, false},
  };
  for (const Row& r : rows) {
    CAPTURE(failure_kind_name(r.kind));
    CAPTURE(r.reused);
    CAPTURE(r.response_started);
    CAPTURE(r.fresh_retry_used);
    CAPTURE(r.budget_spent);
    CAPTURE(r.pinned);
    RequestProgress p = fresh();
    p.fresh_retry_used = r.fresh_retry_used;
    p.pinned = r.pinned;
    if (r.budget_spent) p.leg_attempts = kMaxAttempts;
    const AttemptPlan plan = policy().after_failure({r.kind, r.reused, r.response_started, false}, p);
    CHECK(std::string_view(step_name(plan.step)) == step_name(r.step));
    CHECK(plan.blame_endpoint == r.blame);
    if (r.step == S::GiveUp) {
      CHECK(plan.status == r.status);
      CHECK(plan.response_gone == (r.pinned && r.kind == K::ConnectFailed));
      CHECK_FALSE(plan.not_continued.has_value());
    }
  }
}

TEST_CASE("after_failure at the retry deadline gives up, a millisecond before it retries") {
  RequestProgress p = fresh();
  p.now_ms = p.leg_started_ms + kDeadlineMs;
  CHECK(policy().after_failure({FailureKind::ConnectFailed, false, false, false}, p).step == NextStep::GiveUp);
  p.now_ms = p.leg_started_ms + kDeadlineMs - 1;
  CHECK(policy().after_failure({FailureKind::ConnectFailed, false, false, false}, p).step == NextStep::OtherEndpoint);
}

TEST_CASE("after_failure once bytes reached the client: a continuation, or why not") {
  struct Row {
    FailureKind kind;
    bool migration, continuable;
    uint32_t migrations;
    NextStep step;
    int status;
    std::string_view not_continued;
  };
  using K = FailureKind;
  using S = NextStep;
  const Row rows[] = {
      {K::Reset, true, true, 0, S::Continuation, 0, ""},
      {K::ReadIdleTimeout, true, true, 1, S::Continuation, 0, ""},
      {K::Reset, true, true, 2, S::GiveUp, 502, "max_per_request"},  // maxPerRequest 2, at its bound
      {K::ReadIdleTimeout, true, true, 2, S::GiveUp, 504, "max_per_request"},
      {K::Reset, true, false, 0, S::GiveUp, 502, "unsupported"},
      {K::Reset, false, true, 0, S::GiveUp, 502, "disabled"},
      {K::ReadIdleTimeout, false, true, 0, S::GiveUp, 504, "disabled"},
  };
  for (const Row& r : rows) {
    CAPTURE(failure_kind_name(r.kind));
    CAPTURE(r.migration);
    CAPTURE(r.continuable);
    CAPTURE(r.migrations);
    RequestProgress p = fresh();
    p.continuable = r.continuable;
    p.migrations = r.migrations;
    const AttemptPlan plan = policy(r.migration, 2).after_failure({r.kind, false, true, true}, p);
    CHECK(std::string_view(step_name(plan.step)) == step_name(r.step));
    CHECK(plan.blame_endpoint);
    CHECK(plan.status == r.status);
    CHECK(label(plan.not_continued) == r.not_continued);
  }
}

TEST_CASE("retries_error_status: a 5xx head goes elsewhere within the budget, never when pinned") {
  struct Row {
    int status;
    bool budget_spent, pinned, retried;
  };
  const Row rows[] = {
      {500, false, false, true}, {502, false, false, true}, {503, false, false, true}, {504, false, false, true},
      {501, false, false, false},  // another server would say the same
      {505, false, false, false}, {500, true, false, false}, {503, false, true, false},
  };
  for (const Row& r : rows) {
    CAPTURE(r.status);
    CAPTURE(r.budget_spent);
    CAPTURE(r.pinned);
    RequestProgress p = fresh();
    p.pinned = r.pinned;
    if (r.budget_spent) p.leg_attempts = kMaxAttempts;
    CHECK(policy().retries_error_status(r.status, p) == r.retried);
  }
}

TEST_CASE("no_endpoint_left: 504 after a timeout, 502 after anything else, gone for a pinned refusal") {
  struct Row {
    FailureKind last;
    bool pinned;
    int status;
    std::string_view code;
    bool gone;
  };
  using K = FailureKind;
  const Row rows[] = {
      {K::ConnectFailed, false, 502, "upstream_unavailable", false},
      {K::Reset, false, 502, "upstream_unavailable", false},
      {K::ErrorStatus, false, 502, "upstream_unavailable", false},
      {K::ConnectTimeout, false, 504, "upstream_timeout", false},
      {K::FirstByteTimeout, false, 504, "upstream_timeout", false},
      {K::ReadIdleTimeout, false, 504, "upstream_timeout", false},
      {K::ConnectFailed, true, 0, "", true},
      {K::ConnectTimeout, true, 504, "upstream_timeout", false},
  };
  for (const Row& r : rows) {
    CAPTURE(failure_kind_name(r.last));
    CAPTURE(r.pinned);
    const AttemptPlan plan = policy().no_endpoint_left(r.last, r.pinned);
    CHECK(plan.step == NextStep::GiveUp);
    CHECK(plan.status == r.status);
    CHECK(plan.code == r.code);
    CHECK(plan.response_gone == r.gone);
  }
}

TEST_CASE("fails_whole_server: only failures of the connection itself take every data-parallel rank") {
  using K = FailureKind;
  CHECK(AttemptPolicy::fails_whole_server(K::ConnectFailed));
  CHECK(AttemptPolicy::fails_whole_server(K::ConnectTimeout));
  CHECK(AttemptPolicy::fails_whole_server(K::Reset));
  CHECK_FALSE(AttemptPolicy::fails_whole_server(K::FirstByteTimeout));
  CHECK_FALSE(AttemptPolicy::fails_whole_server(K::ReadIdleTimeout));
  CHECK_FALSE(AttemptPolicy::fails_whole_server(K::ErrorStatus));
  CHECK_FALSE(AttemptPolicy::fails_whole_server(K::Malformed));
}

TEST_CASE("continuation_may_return: back to an endpoint that broke earlier, never to the last") {
  struct Row {
    std::vector<uint32_t> tried, broke;
    bool may;
    std::vector<uint32_t> exclude;
  };
  const Row rows[] = {
      {{0, 1, 2}, {}, false, {}},
      {{0, 1, 2}, {0}, false, {}},           // one break: nothing earlier to go back to
      {{0, 1, 2}, {0, 1}, true, {1, 2}},     // 0 broke first: it may take the stream again
      {{0, 1, 2}, {0, 1, 0}, true, {0, 2}},  // 0 broke last: not it, 1 may
      {{0, 1, 2, 3}, {2, 0, 1}, true, {1, 3}},
  };
  for (const Row& r : rows) {
    std::vector<uint32_t> exclude{99};
    CHECK(AttemptPolicy::continuation_may_return(r.tried, r.broke, exclude) == r.may);
    CHECK(exclude == r.exclude);
  }
}

TEST_CASE("prefill_after_failure: the prefill leg's profile (one fresh connection, then another pod)") {
  struct Row {
    FailureKind kind;
    bool reused, response_started, fresh_retry_used;
    NextStep step;
    bool blame;
  };
  using K = FailureKind;
  using S = NextStep;
  const Row rows[] = {
      {K::Reset, true, false, false, S::FreshConnection, false},
      {K::ConnectFailed, true, false, false, S::FreshConnection, false},
      {K::Reset, true, false, true, S::OtherEndpoint, true},  // its fresh retry used
      {K::Reset, true, true, false, S::OtherEndpoint, true},  // a head had come
      {K::Reset, false, false, false, S::OtherEndpoint, true},
      {K::ConnectTimeout, true, false, false, S::OtherEndpoint, true},
      {K::FirstByteTimeout, false, false, false, S::OtherEndpoint, true},
      {K::ErrorStatus, false, true, false, S::OtherEndpoint, true},
      {K::Malformed, false, true, false, S::OtherEndpoint, true},
  };
  for (const Row& r : rows) {
    CAPTURE(failure_kind_name(r.kind));
    CAPTURE(r.reused);
    CAPTURE(r.response_started);
    CAPTURE(r.fresh_retry_used);
    const AttemptPlan plan =
        AttemptPolicy::prefill_after_failure({r.kind, r.reused, r.response_started, false}, r.fresh_retry_used);
    CHECK(std::string_view(step_name(plan.step)) == step_name(r.step));
    CHECK(plan.blame_endpoint == r.blame);
  }
}

TEST_CASE("after_failure while racing: the rival goes on alone, with this attempt's blame only") {
  struct Row {
    FailureKind kind;
    bool reused, response_started;
    bool blame;
  };
  using K = FailureKind;
  const Row rows[] = {
      {K::ConnectFailed, false, false, true},     // nothing sent
      {K::Reset, true, false, false},             // (alone: a fresh connection, unblamed)
      {K::Reset, false, true, true},              // a head had come
      {K::FirstByteTimeout, false, false, true},  // (alone: given up)
      {K::ErrorStatus, false, true, true},        // (alone: given up)
      {K::Malformed, false, true, true},          // (alone: given up)
  };
  for (const Row& r : rows) {
    CAPTURE(failure_kind_name(r.kind));
    CAPTURE(r.reused);
    RequestProgress p = fresh();
    p.racing = true;
    const AttemptPlan plan = policy().after_failure({r.kind, r.reused, r.response_started, false}, p);
    CHECK(std::string_view(step_name(plan.step)) == "rival");
    CHECK(plan.blame_endpoint == r.blame);
    CHECK_FALSE(plan.close_client);
  }
}

TEST_CASE("after_failure: the client's keep-alive ends after an error status or a malformed answer") {
  struct Row {
    FailureKind kind;
    bool delivered, migration;
    NextStep step;
    bool close;
  };
  using K = FailureKind;
  using S = NextStep;
  const Row rows[] = {
      {K::ErrorStatus, false, true, S::GiveUp, true},
      {K::Malformed, false, true, S::GiveUp, true},
      {K::Malformed, true, false, S::GiveUp, true},        // mid-stream, not continued
      {K::Malformed, true, true, S::Continuation, false},  // mid-stream, continued elsewhere
      {K::FirstByteTimeout, false, true, S::GiveUp, false},
      {K::ReadIdleTimeout, true, false, S::GiveUp, false},
      {K::Reset, true, false, S::GiveUp, false},
      {K::ConnectFailed, false, true, S::OtherEndpoint, false},
  };
  for (const Row& r : rows) {
    CAPTURE(failure_kind_name(r.kind));
    CAPTURE(r.delivered);
    CAPTURE(r.migration);
    RequestProgress p = fresh();
    p.continuable = true;
    const AttemptPlan plan = policy(r.migration).after_failure({r.kind, false, true, r.delivered}, p);
    CHECK(std::string_view(step_name(plan.step)) == step_name(r.step));
    CHECK(plan.close_client == r.close);
  }
}

TEST_CASE("after_head: race, relay, a 5xx elsewhere first, a continuation refused") {
  struct Row {
    int status;
    bool racing, continuing, stalled, budget_spent, pinned;
    HeadStep step;
    bool blame, credit, elsewhere_first;
    int give_up_status;
    std::string_view message;
  };
  using H = HeadStep;
  const Row rows[] = {
      // racing: a 2xx is held, anything else leaves the race (a 5xx blamed)
      {200, true, false, false, false, false, H::Race, false, true, false, 0, ""},
      {299, true, false, false, false, false, H::Race, false, true, false, 0, ""},
      {300, true, false, false, false, false, H::Rival, false, false, false, 0, ""},
      {199, true, false, false, false, false, H::Rival, false, false, false, 0, ""},
      {404, true, false, false, false, false, H::Rival, false, false, false, 0, ""},
      {503, true, false, false, false, false, H::Rival, true, false, false, 0, ""},
      // the first leg: relayed, a 5xx tried elsewhere first while somewhere may be left
      {200, false, false, false, false, false, H::Relay, false, true, false, 0, ""},
      {404, false, false, false, false, false, H::Relay, false, true, false, 0, ""},
      {499, false, false, false, false, false, H::Relay, false, true, false, 0, ""},
      {500, false, false, false, false, false, H::Relay, true, false, true, 0, ""},
      {503, false, false, false, true, false, H::Relay, true, false, false, 0, ""},  // budget spent
      {503, false, false, false, false, true, H::Relay, true, false, false, 0, ""},  // pinned
      {501, false, false, false, false, false, H::Relay, true, false, false, 0, ""},
      // a continuation: a 2xx goes on, anything else ends the stream
      {200, false, true, false, false, false, H::Continue, false, true, false, 0, ""},
      {404, false, true, false, false, false, H::GiveUp, false, false, false, 502,
       "upstream connection broke mid-response; the continuation of the stream was refused"},
      {404, false, true, true, false, false, H::GiveUp, false, false, false, 504,
       "upstream stopped sending mid-response; the continuation of the stream was refused"},
      {300, false, true, false, false, false, H::GiveUp, false, false, false, 502,
       "upstream connection broke mid-response; the continuation of the stream was refused"},
      {503, false, true, false, false, false, H::GiveUp, true, false, true, 502,
       "upstream connection broke mid-response; the continuation of the stream was refused"},
  };
  for (const Row& r : rows) {
    CAPTURE(r.status);
    CAPTURE(r.racing);
    CAPTURE(r.continuing);
    CAPTURE(r.stalled);
    CAPTURE(r.budget_spent);
    CAPTURE(r.pinned);
    RequestProgress p = fresh();
    p.racing = r.racing;
    p.continuing = r.continuing;
    p.stalled = r.stalled;
    p.pinned = r.pinned;
    if (r.budget_spent) p.leg_attempts = kMaxAttempts;
    const HeadPlan plan = policy().after_head(r.status, p);
    CHECK(std::string_view(head_step_name(plan.step)) == head_step_name(r.step));
    CHECK(plan.blame_endpoint == r.blame);
    CHECK(plan.credit_endpoint == r.credit);
    CHECK(plan.elsewhere_first == r.elsewhere_first);
    if (r.step != HeadStep::GiveUp) continue;
    CHECK(plan.give_up.step == NextStep::GiveUp);
    CHECK(plan.give_up.status == r.give_up_status);
    CHECK(label(plan.give_up.not_continued) == "continuation_refused");
    CHECK(std::string(plan.give_up.message).append("; ").append(plan.give_up.detail) == r.message);
  }
}

TEST_CASE("after_no_endpoint: a continuation gives up, a first attempt may wait, else the router's or the last error") {
  struct Row {
    FailureKind last;
    bool may_hold, continuing, stalled, pinned;
    uint32_t attempts;
    NextStep step;
    bool routers_answer;
    int status;
    std::string_view not_continued;
  };
  using K = FailureKind;
  using S = NextStep;
  const Row rows[] = {
      {K::Reset, false, true, false, false, 1, S::GiveUp, false, 502, "no_endpoint"},
      {K::ReadIdleTimeout, false, true, true, false, 2, S::GiveUp, false, 504, "no_endpoint"},
      {K::ConnectFailed, true, false, false, false, 0, S::WaitForServer, false, 0, ""},
      {K::ConnectFailed, false, false, false, false, 0, S::GiveUp, true, 0, ""},  // the first attempt
      {K::ConnectFailed, false, false, false, true, 1, S::GiveUp, true, 0, ""},   // pinned
      {K::ConnectFailed, false, false, false, false, 1, S::GiveUp, false, 502, ""},
      {K::ConnectTimeout, false, false, false, false, 1, S::GiveUp, false, 504, ""},
      {K::FirstByteTimeout, false, false, false, false, 3, S::GiveUp, false, 504, ""},
  };
  for (const Row& r : rows) {
    CAPTURE(failure_kind_name(r.last));
    CAPTURE(r.may_hold);
    CAPTURE(r.continuing);
    CAPTURE(r.pinned);
    CAPTURE(r.attempts);
    RequestProgress p = fresh();
    p.continuing = r.continuing;
    p.stalled = r.stalled;
    p.pinned = r.pinned;
    p.attempts = r.attempts;
    const AttemptPlan plan = policy().after_no_endpoint(r.last, r.may_hold, p);
    CHECK(std::string_view(step_name(plan.step)) == step_name(r.step));
    CHECK(plan.routers_answer == r.routers_answer);
    CHECK(plan.status == r.status);
    CHECK(label(plan.not_continued) == r.not_continued);
    CHECK(plan.detail == (r.continuing ? "no model server left to continue the stream on" : ""));
    CHECK_FALSE(plan.blame_endpoint);
  }
}

TEST_CASE("pinned_routes: a pinned request goes to its server on its first attempt only") {
  RequestProgress p = fresh();
  p.pinned = true;
  p.attempts = 0;
  CHECK(AttemptPolicy::pinned_routes(p));
  p.attempts = 1;
  CHECK_FALSE(AttemptPolicy::pinned_routes(p));
}

TEST_CASE("continuation_blocked: the mid-stream error (written once) with why the stream did not go on") {
  using R = metrics::MigrationReason;
  struct Row {
    R why;
    bool stalled;
    int status;
    std::string_view code, message;
  };
  const Row rows[] = {
      {R::Unsupported, false, 502, "upstream_broken", "upstream connection broke mid-response"},
      {R::Unsupported, true, 504, "upstream_timeout", "upstream stopped sending mid-response"},
      {R::ToolCalls, false, 502, "upstream_broken", "upstream connection broke mid-response"},
      {R::ToolCalls, true, 504, "upstream_timeout", "upstream stopped sending mid-response"},
  };
  for (const Row& r : rows) {
    CAPTURE(metrics::name(r.why));
    CAPTURE(r.stalled);
    RequestProgress p = fresh();
    p.stalled = r.stalled;
    const AttemptPlan plan = AttemptPolicy::continuation_blocked(r.why, {}, p);
    CHECK(plan.step == NextStep::GiveUp);
    CHECK(plan.status == r.status);
    CHECK(plan.code == r.code);
    CHECK(plan.message == r.message);
    CHECK(plan.detail.empty());
    CHECK(label(plan.not_continued) == metrics::name(r.why));
    CHECK_FALSE(plan.blame_endpoint);
    // the same text as a stream that broke and was not continued
    MigrationOptions off;
    off.enabled = false;
    const FailureKind kind = r.stalled ? FailureKind::ReadIdleTimeout : FailureKind::Reset;
    const AttemptPlan broke =
        AttemptPolicy(RetryBudget{kMaxAttempts, kDeadlineMs}, off).after_failure({kind, false, true, true}, p);
    CHECK(broke.message == plan.message);
    CHECK(broke.code == plan.code);
  }
}
