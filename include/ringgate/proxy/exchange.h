#pragma once
// One client request, from its complete body to the end of its one reply (h2o's
// lib/core/proxy.c generator, Envoy's router):
//   admission (rate limits, flow control) → rewrite → route → attempts → one reply.
// An Attempt is one upstream request; the AttemptPolicy says what follows a failed one
// (a fresh connection, another endpoint, a continuation of the stream elsewhere, or an
// error); the RelayState keeps what the client has seen of a stream so that a
// continuation is stitched in without a repeated or missing byte; RequestStats is the
// metrics and access-log leaf. Each routed leg holds its route's ticket (RouteTicket:
// slot, token load, pending prefill, prefix hashes). A hedged prefill races a second
// Attempt against the first until one streams a token (HedgeRace; its policy is
// proxy/hedging.h); the lead is the one the client hears. Its helpers do the work, the
// Exchange acts on what they return: the Dispatcher makes the picks and the waits for a
// server (the flow-control queue, the model hold), a PdSplit the prefill leg of a request
// split into prefill and decode, the AnswerRelay the relay of the lead's answer to the
// client (RequestIdentity: who the request is). Only the Exchange decides what the
// client sees, and it fails in ONE way (end_with_error); its ClientReply writes it in
// the client's framing: a JSON error before the response head went out; after it, an SSE
// error event for streams, else a visibly cut body.
//
// The Exchange never touches a socket: its client (ExchangeClient, behind the
// ClientReply), the upstream side (UpstreamSide) and routing (RouteService) are
// interfaces, so the state machine is driven by fakes (tests/proxy/exchange_fakes.h).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/http/request_parser.h"
#include "ringgate/http/response_parser.h"
#include "ringgate/net/timeout_list.h"
#include "ringgate/openai/request_body.h"
#include "ringgate/proxy/admission.h"
#include "ringgate/proxy/answer_relay.h"
#include "ringgate/proxy/attempt.h"
#include "ringgate/proxy/attempt_policy.h"
#include "ringgate/proxy/client_reply.h"
#include "ringgate/proxy/dispatcher.h"
#include "ringgate/proxy/exchange_env.h"
#include "ringgate/proxy/flow_queue.h"
#include "ringgate/proxy/forward_head.h"
#include "ringgate/proxy/pd_split.h"
#include "ringgate/proxy/hedge_race.h"
#include "ringgate/proxy/leg_body.h"
#include "ringgate/proxy/prompt_digest.h"
#include "ringgate/proxy/relay_state.h"
#include "ringgate/proxy/response_affinity.h"
#include "ringgate/proxy/response_wait.h"
#include "ringgate/proxy/request_identity.h"
#include "ringgate/proxy/request_stats.h"

namespace ringgate::proxy {

class Exchange final : public AttemptOwner,
                       public net::TimerTarget,
                       public FlowWaiter,
                       public SplitOwner,
                       public ResponseWaiter {
 public:
  Exchange(ExchangeEnv& env, ExchangeClient& client)
      : env_(env),
        reply_(client, *env.counters),
        digest_(env.prefix_block_bytes),
        admission_(env),
        stats_(env),
        answer_(env, reply_, stats_, affinity_, identity_),
        race_(env, *this),
        response_wait_(*this),
        dispatcher_(env, *this, admission_, stats_, affinity_, identity_, digest_),
        split_(env, *this, dispatcher_, stats_, identity_, leg_body_, admission_) {}
  ~Exchange() override;
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  // More of a request's body arrived (it is read and hashed now, not at start());
  // `first`: the first call for this request.
  void body_arrived(const http::Request& request, bool first);

  // A complete POST to a proxied path. `request` (its body) stays put until the
  // exchange ends. started_ms: the request's first byte (the retry deadline counts from it).
  // `key`: the API key it presented (auth on; valid during this call only), else null.
  void start(http::Request& request, bool http11, bool keep_alive, uint64_t started_ms, const ApiKey* key = nullptr);

  bool active() const { return state_.active; }
  bool queued() const { return admission_.queued(); }  // waiting in the flow-control queue
  bool response_started() const { return reply_.started(); }
  uint32_t attempts() const { return state_.attempts; }
  uint32_t migrations() const { return state_.migrations; }
  // The prefill pod of a split request ("host:port"): in gateway mode once its leg
  // succeeded, in EPP mode once picked (for x-prefiller-host-port); else empty.
  const std::string& prefill_endpoint() const { return identity_.prefill_endpoint; }
  int status() const { return reply_.state().status; }

  // The client went away (or stalled): drop the upstream, record the request.
  void client_gone();
  // The client's queue went below the low mark: read the upstream again.
  void client_drained();
  // The gateway began draining: the response should close the connection unless its
  // head already promised keep-alive.
  void drain_started();
  // The drain deadline passed: end visibly, through the client's output queue (behind any
  // send in flight): a 503, an SSE error event and the end of the body, or a cut body.
  void cut_at_shutdown();

  // AttemptOwner
  void attempt_head(Attempt& attempt, const http::ResponseParser& head) override;
  void attempt_body(Attempt& attempt, std::string_view decoded) override;
  void attempt_end(Attempt& attempt, bool reusable) override;
  void attempt_failed(Attempt& attempt, FailureKind kind) override;
  std::string* attempt_body_sink(Attempt& attempt) override;
  // TimerTarget: the whole-request deadline.
  void on_timer(net::Timer& timer) override;
  // FlowWaiter
  bool flow_try_dispatch() override;
  void flow_evicted(FlowOutcome outcome) override;
  // SplitOwner
  void decode_ready(const RouteDecision& decision, RouteTicket ticket) override;
  // ResponseWaiter
  void response_wait_over(bool found) override;

 private:
  // What one request is, scalars only: reset by assignment in start(). The buffers are
  // members of their own so that their capacity survives from request to request.
  struct RequestState {
    bool active = false;
    http::Request* request = nullptr;
    const openai::ApiRoute* route = nullptr;  // the request's path in the route table
    bool digested = false;          // identity_.fields and the prefix chain come from digest_ (else BodyReader)
    uint64_t answering_server = 0;  // the lead attempt's server (address hash), for affinity_
    uint64_t started_ms = 0;
    uint64_t leg_started_ms = 0;
    uint32_t attempts = 0;      // every attempt of the request
    uint32_t leg_attempts = 0;  // of the current leg
    uint32_t migrations = 0;
    bool fresh_retry_used = false;
    FailureKind last_failure = FailureKind::ConnectFailed;
    metrics::MigrationReason migration_reason{};  // why the stream first broke (with migrations)
    bool stalled = false;                         // the last break was a stall (else a broken connection)
  };

  void proceed();
  // Acts on a step of the way to a server (true: the request left its queue for good).
  bool take(DispatchStep step);
  void next_attempt();
  void dispatch(Routed routed);
  void send(const RouteDecision& decision, RouteTicket ticket);
  RequestImage image_for(const Attempt& attempt);  // what the current leg sends on `attempt`
  // A hedged prefill's race is over (the lead's held answer goes to the client).
  void end_race(Attempt& kept, HedgeResult result);
  // The stream broke after the client saw some of it: a continuation on another endpoint.
  void continue_stream(FailureKind kind);
  using Reason = metrics::MigrationReason;
  using Outcome = metrics::MigrationOutcome;
  void end_with(const AttemptPlan& plan);
  RequestProgress progress() const;
  void close_out();
  void finish(ReplyEnd how);
  void end_with_error(int status, std::string_view code, std::string_view message,
                      std::string_view retry_after = {});

  ExchangeEnv& env_;
  ClientReply reply_;
  PromptDigest digest_;
  Admission admission_;
  RequestStats stats_;
  AnswerRelay answer_;          // the lead's answer as the client gets it, and what it saw of a stream
  HedgeRace race_;              // the request's attempt (and a hedged prefill's second), the lead among them
  ResponseAffinity affinity_;   // the Responses API response it names, and the one it makes
  ResponseWait response_wait_;  // for a response another replica made, not known here yet
  RequestState state_;
  RequestIdentity identity_;
  std::string upstream_head_;
  LegBody leg_body_;  // the current leg's body when it is not the client's
  Dispatcher dispatcher_;  // where it goes: the picks, the queues it waits in for a server
  PdSplit split_;          // disaggregation: its prefill leg (or pod) and the decode pick held meanwhile
  net::Timer request_timer_{this, 0};
};

}  // namespace ringgate::proxy
