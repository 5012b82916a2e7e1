#pragma once
// Where one request goes, and its waits for a server to go to. The picks: what routing is
// told of the request, the endpoints it tried left out (a continuation may go back to
// one whose stream broke earlier), a Responses API request pinned to its response's
// server, the hedge's and the prefill leg's picks. The waits: the flow-control queue
// while every candidate is saturated, and its model's holding queue (ModelHold) while no
// server serves the model yet. Each wait's step returns a DispatchStep; the Exchange acts
// on it (sends, answers the error, or leaves the request where it waits), as it acts on
// Admission's decisions.
#include <cstdint>
#include <span>
#include <string_view>

#include "ringgate/http/request_parser.h"
#include "ringgate/openai/api_routes.h"
#include "ringgate/proxy/admission.h"
#include "ringgate/proxy/attempt_policy.h"
#include "ringgate/proxy/exchange_env.h"
#include "ringgate/proxy/flow_queue.h"
#include "ringgate/proxy/prompt_digest.h"
#include "ringgate/proxy/request_identity.h"
#include "ringgate/proxy/request_stats.h"
#include "ringgate/proxy/response_affinity.h"
#include "ringgate/proxy/trace_reasons.h"
#include "ringgate/proxy/tried_endpoints.h"

namespace ringgate::proxy {

enum class DispatchVerdict : uint8_t {
  Send,     // `routed` is where it goes now
  Refused,  // it ends with the error below
  Waits,    // it waits in a queue (whose dispatch cycle may have sent it already: nothing may follow)
  Stays,    // offered a dispatch, it still has nowhere to go: it stays where it waits
};

struct DispatchStep {
  DispatchVerdict verdict = DispatchVerdict::Waits;
  Routed routed;   // Send
  int status = 0;  // Refused: the error
  std::string_view code, message;
  std::string_view retry_after;  // a "retry-after: N\r\n" line (and the drop reason), or empty
};

class Dispatcher {
 public:
  // `waiter`: the request's, which the queues offer dispatches and report evictions to
  // (it hands them to offered() and evicted()). The rest are the request's own parts.
  Dispatcher(ExchangeEnv& env, FlowWaiter& waiter, Admission& admission, RequestStats& stats,
             ResponseAffinity& affinity, RequestIdentity& identity, const PromptDigest& digest)
      : env_(env),
        waiter_(waiter),
        admission_(admission),
        stats_(stats),
        affinity_(affinity),
        identity_(identity),
        digest_(digest) {}
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // A new request (`request` stays put until it ends): nothing tried yet.
  void begin(http::Request& request, const openai::ApiRoute& route);
  TriedEndpoints& tried() { return tried_; }

  // Where the next attempt (or continuation) goes, the endpoints tried left out.
  Routed route_next(const RequestProgress& progress);
  // A hedge's: the next-best server (the first pick excluded, saturated ones too under
  // flow control); counted as tried when found.
  Routed route_hedge(const RequestProgress& progress);
  // A prefill leg's: a prefill pod, none of `exclude`. (A prefill leg runs before the
  // request's first attempt, its decode leg, is sent.)
  Routed route_prefill(std::span<const uint32_t> exclude);
  // A first attempt that found no ready server for its model waits for one (ModelHold).
  bool holds_for_server(const RouteDecision& decision, const RequestProgress& progress) const;

  // Joins the flow-control queue (Waits, or Refused when it is full).
  DispatchStep enqueue();
  // Waits for its model's first server (Waits, or Refused when the holding bounds are full).
  DispatchStep wait_for_server();
  // A queue offers a dispatch (FlowWaiter::flow_try_dispatch): Stays, or it leaves the
  // queue for good (Send, Refused, or Waits on in another queue).
  DispatchStep offered(const RequestProgress& progress);
  // A queue dropped it (FlowWaiter::flow_evicted): Refused, with the queue's answer.
  DispatchStep evicted(FlowOutcome outcome);

 private:
  // What routing is told of the request.
  RouteRequest route_request(const RequestProgress& progress);
  // Out of the queue (or the holding queue) with a decision: sent, or answered with its error.
  DispatchStep leave_queue(Routed routed);
  // A held request's offer.
  DispatchStep held_offered(Routed routed, const RequestProgress& progress);
  // A queue's refusal (`outcome`: the trace's).
  DispatchStep refused(const AdmissionDecision& decision, AdmissionOutcome outcome);

  ExchangeEnv& env_;
  FlowWaiter& waiter_;
  Admission& admission_;
  RequestStats& stats_;
  ResponseAffinity& affinity_;
  RequestIdentity& identity_;
  const PromptDigest& digest_;
  http::Request* request_ = nullptr;
  const openai::ApiRoute* route_ = nullptr;
  bool held_saw_server_ = false;  // held for its model's server, it found one (saturated)
  TriedEndpoints tried_;
};

}  // namespace ringgate::proxy
