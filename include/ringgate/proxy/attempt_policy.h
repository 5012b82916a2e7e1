#pragma once
// What follows a failed upstream attempt (Envoy's retry state, plus the stream's
// continuation): a fresh connection to the same endpoint, another endpoint, a
// continuation of the stream on another endpoint, or the end of the request with an
// error. Every "what next" is decided here, from plain data (table-tested in
// tests/proxy/attempt_policy_test.cpp); the Exchange carries the plan out. A new retry
// rule is a change to this file and its test.
//
// Before any byte of an attempt reached the client, a failure that cannot have run
// the request (no connection, a reset) is retried within the retry budget; one that
// may have run it (a timeout with the request sent, a 5xx, a malformed answer) is not.
// After bytes reached the client, only a stream that can be continued goes on
// (migration); anything else ends visibly broken.
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "ringgate/metrics/migration_reason.h"
#include "ringgate/proxy/proxy_options.h"

namespace ringgate::proxy {

// Why an attempt failed: the one classification every retry decision reads.
enum class FailureKind : uint8_t {
  ConnectFailed,     // no connection (refused, unreachable, no socket): nothing was sent
  ConnectTimeout,    // the connection did not open in time: nothing was sent
  Reset,             // the connection failed or closed before the response was complete
  FirstByteTimeout,  // request sent, the whole response head did not arrive in time
  ReadIdleTimeout,   // the response started, then no byte for the read-idle (or stall) timeout
  ErrorStatus,       // a 5xx head
  Malformed,         // an unparseable response
};
const char* failure_kind_name(FailureKind kind);

enum class NextStep : uint8_t {
  FreshConnection,  // the same endpoint again, on a new connection (a pooled one was stale)
  OtherEndpoint,    // the same request (or the same continuation) to another endpoint
  Continuation,     // the stream continues on another endpoint (migration)
  Rival,            // a racing attempt failed: the race's other attempt goes on alone (its retry)
  WaitForServer,    // no server for its model yet: the request waits for one (ModelHold)
  GiveUp,           // the request ends with the error below
};

struct AttemptFailure {
  FailureKind kind = FailureKind::ConnectFailed;
  bool reused = false;            // the attempt's connection came from the pool
  bool response_started = false;  // its response head arrived
  bool delivered = false;         // bytes of its response reached the client
};

// What the request has spent so far. A leg is the original request or one continuation.
struct RequestProgress {
  uint32_t leg_attempts = 0;    // attempts of the current leg (a fresh-connection retry included)
  uint64_t leg_started_ms = 0;  // its first attempt, or when its stream broke
  uint64_t now_ms = 0;
  bool fresh_retry_used = false;
  uint32_t migrations = 0;  // continuations sent
  bool continuable = false; // a stream whose relayed events are kept for a continuation
  bool pinned = false;      // it may go to one server only (a Responses API response's)
  uint32_t attempts = 0;    // attempts of the whole request (every leg, hedges included)
  bool racing = false;      // two attempts race (a hedge): the first to stream a token is kept
  bool continuing = false;  // the current leg is a continuation (the client has its head)
  bool stalled = false;     // the stream's last break was a stall (else a broken connection)
};

struct AttemptPlan {
  NextStep step = NextStep::GiveUp;
  bool blame_endpoint = false;  // passive health counts a failure against the endpoint
  // GiveUp: the status and error (a JSON error before the response began, else the
  // stream's error event or a cut body).
  int status = 0;
  std::string_view code, message;
  // GiveUp of a stream that reached the client: why it was not continued (the
  // gave_up reason of ringgate_stream_migrations_total); nullopt otherwise.
  std::optional<metrics::MigrationReason> not_continued;
  // GiveUp of a stream that reached the client: what is added to the message after "; ".
  std::string_view detail;
  // GiveUp of a pinned request whose server refuses connections: its response is gone
  // (the caller's 404, ResponseAffinity::gone()).
  bool response_gone = false;
  // GiveUp with the router's own answer (its status, code and message) as the error.
  bool routers_answer = false;
  // GiveUp: the client's connection closes after the error (an error status or a
  // malformed answer: what else the server sent on it is unknown).
  bool close_client = false;
};

// What follows an attempt's response head.
enum class HeadStep : uint8_t {
  Relay,     // the head is the client's answer, whatever its status (held until the first body byte)
  Race,      // a racing attempt's 2xx: held, with the client's head built for it, until a token comes
  Rival,     // a racing attempt's non-2xx: out of the race, the other attempt answers alone
  Continue,  // a continuation's 2xx: its events go on to the client's stream
  GiveUp,    // a continuation refused (a non-2xx head): the stream ends with `give_up`
};

struct HeadPlan {
  HeadStep step = HeadStep::Relay;
  bool blame_endpoint = false;   // passive health counts a failure against the endpoint (a 5xx)
  bool credit_endpoint = false;  // ... or a success
  // A 5xx whose body has not reached the client: another endpoint first, if one is left
  // (routed first: with none left, `step` follows, the 5xx in hand being the better answer).
  bool elsewhere_first = false;
  AttemptPlan give_up;  // GiveUp's
};

class AttemptPolicy {
 public:
  AttemptPolicy(RetryBudget budget, const MigrationOptions& migration) : budget_(budget), migration_(migration) {}
  AttemptPlan after_failure(const AttemptFailure& failure, const RequestProgress& progress) const;
  // A 5xx head whose body has not reached the client: another endpoint may be tried
  // (true), or the 5xx is relayed as it is.
  bool retries_error_status(int status, const RequestProgress& progress) const;
  // The prefill leg's profile of the same policy (a split request's first leg, which
  // never answers the client: its GiveUp means the request goes decode-only). A pooled
  // connection that fails before its head (reset, or refused) gets one fresh connection
  // to the same pod, unblamed; any other failure is blamed and may go to another prefill
  // pod (OtherEndpoint; the leg bounds how many).
  static AttemptPlan prefill_after_failure(const AttemptFailure& failure, bool fresh_retry_used);
  // No endpoint is left for another attempt after `last` failed (or, pinned, none may be
  // tried): the error the request ends with. A pinned request's server refusing
  // connections means its response is gone (response_gone: the caller words it).
  AttemptPlan no_endpoint_left(FailureKind last, bool pinned) const;
  // What follows a response head of `status`.
  HeadPlan after_head(int status, const RequestProgress& progress) const;
  // Routing found no endpoint for the next attempt (`may_hold`: the request may wait for
  // its model's first server): the stream's continuation gives up, the request waits,
  // ends with the router's answer (its first attempt, or pinned), or with the error of
  // its last failure.
  AttemptPlan after_no_endpoint(FailureKind last, bool may_hold, const RequestProgress& progress) const;
  // A pinned request goes to its server on its first attempt only; any later one (a
  // retry, a continuation) would meet a server without the response: gone.
  static bool pinned_routes(const RequestProgress& progress) { return progress.attempts == 0; }
  // A stream that reached the client cannot go on (`why`: what stood in the way, the
  // gave_up reason; `detail`: said after the mid-stream error).
  static AttemptPlan continuation_blocked(metrics::MigrationReason why, std::string_view detail,
                                          const RequestProgress& progress);
  // The error a stream that reached the client ends with: 504 after a stall, else 502.
  static AttemptPlan broken_stream(bool stalled);
  // A failure of the connection itself fails every data-parallel rank behind the
  // server's one port: what comes next goes to another server, not another rank.
  static bool fails_whole_server(FailureKind kind);
  // Every endpoint had the request and its stream broke again: a continuation may go back
  // to an endpoint whose leg broke mid-stream earlier (a dropped connection is not a dead
  // server), never to the last one. Writes the endpoints still excluded into `exclude`;
  // false when there is no earlier one to go back to.
  static bool continuation_may_return(std::span<const uint32_t> tried, std::span<const uint32_t> broke_mid_stream,
                                      std::vector<uint32_t>& exclude);

 private:
  AttemptPlan failure_plan(const AttemptFailure& failure, const RequestProgress& progress) const;
  bool budget_left(const RequestProgress& p) const {
    return budget_.allows_another(p.leg_attempts, p.leg_started_ms, p.now_ms);
  }
  RetryBudget budget_;
  MigrationOptions migration_;
};

}  // namespace ringgate::proxy
