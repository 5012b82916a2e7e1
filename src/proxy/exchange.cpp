#include "ringgate/proxy/exchange.h"

#include <algorithm>
#include <cassert>

#include "ringgate/config/inference_objective.h"
#include "ringgate/config/rewrite_table.h"
#include "ringgate/http/error_response.h"
#include "ringgate/openai/continuation_request.h"
#include "ringgate/proxy/route_hints.h"
#include "ringgate/util/json_text.h"

namespace ringgate::proxy {

namespace {

// Debug builds count the Exchange entry points on this thread's stack (a request's start,
// an attempt's report, a flow-queue dispatch, a timer). A request starts only with none:
// ClientConnection starts the next pipelined request at the loop's turn end, never inside
// the previous request's (or another connection's dispatch's) call stack.
class EntryDepth {
 public:
#ifndef NDEBUG
  static inline thread_local int depth = 0;
  EntryDepth() { ++depth; }
  ~EntryDepth() { --depth; }
#else
  EntryDepth() {}
#endif
  EntryDepth(const EntryDepth&) = delete;
  EntryDepth& operator=(const EntryDepth&) = delete;
};

AttemptPolicy policy_of(const ExchangeEnv& env) { return {env.options->retry_budget(), env.options->migration}; }

// THE place for model aliases: target_model (what routing sees) and, when the name
// changes, model_token (the JSON string token, quotes included) that the forwarded body
// gets in place of fields.model_offset/model_length — spliced with an iovec.
void apply_model_rewrite(ExchangeEnv& env, const RequestStats& stats, const http::Request& request,
                         RequestIdentity& identity) {
  const openai::RequestFields& fields = identity.fields;
  const config::RewriteDecision decision = pick_model_rewrite(*env.rules, fields.model, env.rng.next(), request);
  identity.target_model.assign(decision.target);
  identity.model_token.clear();
  if (decision.changes(fields.model)) {
    if (fields.model_in_form)
      identity.model_token.assign(decision.target);  // a form field's bare value
    else
      util::append_json_string(identity.model_token, decision.target);
  }
  if (decision.reason == config::RewriteReason::Exact || decision.reason == config::RewriteReason::CatchAll) {
    env.stats->rewrite_decisions
        .find_or_add(metrics::rewrite_decision_key(decision.rewrite_name, stats.label(fields.model),
                                                   stats.label(decision.target), env.key_scratch))
        .add();
  }
}

}  // namespace

Exchange::~Exchange() {
  if (state_.active) client_gone();
}

void Exchange::body_arrived(const http::Request& request, bool first) {
  if (first)
    digest_.begin(openai::route_for(request.target), request.content_length > 0 ? size_t(request.content_length) : 0);
  digest_.advance(request.body);
}

void Exchange::start(http::Request& request, bool http11, bool keep_alive, uint64_t started_ms, const ApiKey* key) {
  assert(EntryDepth::depth == 0 && "a request started inside another exchange's call");
  const EntryDepth entry;
  state_ = RequestState{};
  state_.active = true;
  state_.request = &request;
  state_.route = &openai::route_for(request.target);
  reply_.begin(http11, keep_alive);
  state_.started_ms = started_ms;
  dispatcher_.begin(request, *state_.route);
  split_.begin(request, *state_.route);
  leg_body_.own = false;
  identity_.prefill_endpoint.clear();
  race_.reset();
  admission_.begin(request, key);
  stats_.trace().begin(request, state_.route->path);

  // Read while it arrived (body_arrived); only a body the scanner did not understand
  // is read again, whole, by BodyReader, which also words any error. A path that names a
  // response has no body to read: its server is the response's.
  const bool bodiless = state_.route->routing == openai::Routing::ResponseHolder;
  if (bodiless) identity_.fields = openai::RequestFields{};
  identity_.digested = !bodiless && digest_.finish(*state_.route, request.body, identity_.fields);
  if (!identity_.digested && !bodiless) {
    openai::BodyReader::pad(request.body);
    const openai::BodyError error = env_.body_reader.read(*state_.route, request.header("content-type"), request.body,
                                                          request.body.capacity(), identity_.fields);
    if (error.status != 0) return end_with_error(error.status, error.code, error.message);
  }
  if (const AffinityError refused = affinity_.begin(env_.responses, env_.response_ring, *state_.route, request.target,
                                                    identity_.fields, request.method == HTTP_DELETE);
      refused.status != 0)
    return end_with_error(refused.status, refused.code, refused.message);
  const uint32_t wait_ms = env_.options->response_wait_ms;
  if (affinity_.unknown_path() && wait_ms == 0) {
    const AffinityError unknown = affinity_.unknown();
    return end_with_error(unknown.status, unknown.code, unknown.message);
  }
  // The model the client names, before any alias: the name the key's globs were written for.
  if (key != nullptr && !bodiless && !key->allows_model(identity_.fields.model)) {
    env_.counters->auth_rejections[size_t(AuthFailure::ModelNotAllowed)].add();
    return end_with_error(403, "model_not_allowed", "this API key may not use the model the request names");
  }
  if (const AdmissionDecision rate = admission_.admit_rate(); rate.verdict == AdmissionVerdict::Refused) {
    stats_.trace().admitted(AdmissionOutcome::RateLimited, false, true);
    return end_with_error(rate.status, rate.code, rate.message, rate.retry_after);
  }
  // A response another replica made may not have reached this one's table yet.
  if (response_wait_.begin(affinity_, env_.response_waiters, *env_.timers, *env_.now_ms, wait_ms)) return;
  proceed();
}

void Exchange::response_wait_over(bool found) {
  const EntryDepth entry;
  env_.counters->response_waits[found ? 0 : 1].add();
  proceed();
}

// start() once the request may be routed: its id, rewrite, statistics, then the queue or
// the first attempt.
void Exchange::proceed() {
  if (affinity_.unknown_path()) {
    const AffinityError unknown = affinity_.unknown();
    return end_with_error(unknown.status, unknown.code, unknown.message);
  }
  http::Request& request = *state_.request;
  identity_.assign_request_id(request.header("x-request-id"), env_.worker_index, *env_.now_ms, env_.request_serial);
  apply_model_rewrite(env_, stats_, request, identity_);
  // A request for a model the pool does not know is answered 404: it adds no label value.
  admission_.label_values(env_.catalog->labels(identity_.target_model));
  stats_.begin(identity_.fields.model, identity_.target_model, admission_.priority(), admission_.fairness_label(),
               identity_.fields.stream);
  if (env_.options->request_timeout_ms) env_.timers->arm(request_timer_, env_.options->request_timeout_ms, *env_.now_ms);
  // Under flow control it joins the queue, whose dispatch cycle may send it (and end the
  // exchange) before it returns: nothing may follow.
  if (admission_.flow_enabled()) {
    take(dispatcher_.enqueue());
    return;
  }
  next_attempt();
}

bool Exchange::take(DispatchStep step) {
  switch (step.verdict) {
    case DispatchVerdict::Stays:
      return false;
    case DispatchVerdict::Waits:
      return true;
    case DispatchVerdict::Send:
      dispatch(std::move(step.routed));
      return true;
    case DispatchVerdict::Refused:
      end_with_error(step.status, step.code, step.message, step.retry_after);
      return true;
  }
  return true;
}

bool Exchange::flow_try_dispatch() {
  const EntryDepth entry;
  reply_.resumed();
  return take(dispatcher_.offered(progress()));
}

void Exchange::flow_evicted(FlowOutcome outcome) {
  const EntryDepth entry;
  reply_.resumed();
  take(dispatcher_.evicted(outcome));
}

void Exchange::next_attempt() {
  Routed routed = dispatcher_.route_next(progress());
  if (routed.ok()) return dispatch(std::move(routed));
  const RouteDecision& decision = routed.decision;
  const bool holds = dispatcher_.holds_for_server(decision, progress());
  const AttemptPlan plan = policy_of(env_).after_no_endpoint(state_.last_failure, holds, progress());
  if (plan.step == NextStep::WaitForServer) {
    take(dispatcher_.wait_for_server());
    return;
  }
  if (plan.routers_answer) return end_with_error(decision.status, decision.code, decision.message);
  end_with(plan);
}

RequestImage Exchange::image_for(const Attempt& attempt) {
  RequestImage image;
  image.head = upstream_head_;
  image.add_host = !http::has_header(state_.request->headers, "host");
  if (stats_.trace().on()) {
    const RelayState& stream = answer_.stream();
    image.trace.trace = &stats_.trace();
    image.trace.leg = race_.is_hedge(attempt) ? TraceLeg::Hedge
                      : stream.leg() > 0      ? TraceLeg::Migration
                      : split_.split()        ? TraceLeg::Decode
                                              : TraceLeg::Attempt;
    if (stream.leg() > 0) image.trace.carried_tokens = uint32_t(std::min<uint64_t>(stream.tokens(), UINT32_MAX));
  }
  if (leg_body_.own) return image;  // (its body has the rewritten model written into it)
  if (!identity_.model_token.empty()) {
    image.model_offset = identity_.fields.model_offset;
    image.model_length = identity_.fields.model_length;
    image.model_token = identity_.model_token;
  }
  return image;
}

void Exchange::dispatch(Routed routed) {
  const RouteDecision& decision = routed.decision;
  RouteTicket& ticket = routed.ticket;
  if (state_.attempts > 0) return send(decision, std::move(ticket));
  // The retry deadline counts from here: time queued, waiting for a response's server or
  // for the body is not retrying (a turn that waited past it lost its one fresh connection).
  state_.leg_started_ms = *env_.now_ms;
  stats_.trace().admitted(AdmissionOutcome::Admitted, admission_.flow_enabled(), admission_.rate_limited());
  stats_.scheduled(state_.request->body.size());
  if (env_.router->disaggregating() && split_.decide(decision, ticket)) return;
  send(decision, std::move(ticket));
  // Gateway mode only: in EPP mode Envoy sends the one request it was told where to.
  const HedgingOptions& hedging = env_.options->hedging;
  if (!hedging.enabled || !env_.sends_prefill_leg) return;
  env_.hedge_budget.earn(hedging.max_extra_load);
  if (!state_.active || state_.attempts != 1 || !race_.primary().connected() || affinity_.pinned() ||
      affinity_.learns_answer() || !wants_hedge(hedging, identity_.fields.stream, decision.ttft_headroom))
    return;
  if (!env_.hedge_budget.can_spend()) return env_.counters->hedges_over_budget.add();
  // The request also goes to the next-best server (the first pick excluded, saturated
  // ones too under flow control); the first of the two to stream a token is kept.
  assert(!race_.racing() && "a hedge while racing");
  Routed hedge = dispatcher_.route_hedge(progress());  // (counted as tried)
  if (!hedge.ok()) return;
  const RouteDecision& second = hedge.decision;
  env_.hedge_budget.spend();
  ++state_.attempts;
  ++state_.leg_attempts;
  race_.hedge_body().assign(state_.request->body.view());
  Attempt& second_attempt = race_.next_hedge();
  if (!second_attempt.open(std::move(hedge.ticket), second, race_.hedge_body(), image_for(second_attempt),
                           /*token_first=*/true))
    return second_attempt.end(false, /*keep_body=*/false);
  race_.begin();
}

void Exchange::send(const RouteDecision& decision, RouteTicket ticket) {
  ++state_.attempts;
  ++state_.leg_attempts;
  dispatcher_.tried().add(decision.endpoint_id);
  const size_t body_length =
      leg_body_.own ? leg_body_.body.size()
      : identity_.model_token.empty()
          ? state_.request->body.size()
          : state_.request->body.size() - identity_.fields.model_length + identity_.model_token.size();
  upstream_head_.clear();
  build_upstream_head(upstream_head_, *state_.request, identity_.request_id, identity_.gateway_request_id, body_length,
                      admission_.keyed(), stats_.trace().on());
  race_.reset();
  state_.answering_server = decision.server;
  Attempt& attempt = race_.next_primary();
  http::BodyBuffer& body = leg_body_.of(state_.request->body);
  if (!attempt.open(std::move(ticket), decision, body, image_for(attempt), identity_.fields.stream))
    attempt_failed(attempt, FailureKind::ConnectFailed);
}

// The prefill is over (or never ran).
void Exchange::decode_ready(const RouteDecision& decision, RouteTicket ticket) {
  const EntryDepth entry;
  state_.leg_started_ms = *env_.now_ms;  // the decode leg's retries get their own deadline
  send(decision, std::move(ticket));
}

// The race is over: `kept` goes on alone (the lead), its rival is cancelled. When kept's
// answer began, it is the client's now: its head and what it held go out as if relayed
// on arrival.
void Exchange::end_race(Attempt& kept, HedgeResult result) {
  RaceSide& side = race_.end(kept, result);
  if (result == HedgeResult::Abandoned || side.head.empty()) return;
  reply_.resume(side);
  answer_.resume(kept, side.held, *state_.route);
}

RequestProgress Exchange::progress() const {
  RequestProgress p;
  p.leg_attempts = state_.leg_attempts;
  p.leg_started_ms = state_.leg_started_ms;
  p.now_ms = *env_.now_ms;
  p.fresh_retry_used = state_.fresh_retry_used;
  p.migrations = state_.migrations;
  p.continuable = answer_.stream().keeping();
  p.pinned = affinity_.pinned();
  p.attempts = state_.attempts;
  p.racing = race_.racing();
  p.continuing = answer_.stream().leg() > 0;
  p.stalled = state_.stalled;
  return p;
}

void Exchange::attempt_failed(Attempt& attempt, FailureKind kind) {
  const EntryDepth entry;
  env_.counters->upstream_failures.add();
  state_.last_failure = kind;
  const AttemptFailure failure{kind, attempt.reused(), attempt.response_started(), attempt.delivered()};
  const AttemptPlan plan = policy_of(env_).after_failure(failure, progress());
  if (plan.blame_endpoint) attempt.blame();
  if (plan.step == NextStep::Rival) return end_race(race_.rival(attempt), HedgeResult::Failover);
  if (AttemptPolicy::fails_whole_server(kind)) {
    // Every rank behind its server's port (one API server fronts them) is tried now. (A
    // reused connection's fresh retry still goes to the same rank.)
    std::vector<uint32_t> server;
    env_.router->same_server(attempt.endpoint_id(), server);
    for (uint32_t id : server) dispatcher_.tried().add(id);
  }
  switch (plan.step) {
    case NextStep::FreshConnection:
      state_.fresh_retry_used = true;
      ++state_.attempts;
      ++state_.leg_attempts;
      env_.counters->upstream_retries.add();
      attempt.drop_channel();
      if (!attempt.reopen(image_for(attempt))) attempt_failed(attempt, FailureKind::ConnectFailed);
      return;
    case NextStep::OtherEndpoint:
      // Nothing of this attempt reached the client: its head (if one came) is dropped.
      reply_.drop_head();
      race_.end_lead(false, /*keep_body=*/true);
      env_.counters->upstream_retries.add();
      return next_attempt();
    case NextStep::Continuation:
      return continue_stream(kind);
    case NextStep::Rival:          // (above)
    case NextStep::WaitForServer:  // (never after a failure)
    case NextStep::GiveUp:
      break;
  }
  reply_.drop_head();
  if (plan.response_gone) {  // a pinned request's server refuses connections: its responses went with it
    const AffinityError gone = affinity_.gone();
    return end_with_error(gone.status, gone.code, gone.message);
  }
  if (plan.close_client) reply_.close_after();
  end_with(plan);
}

void Exchange::attempt_head(Attempt& attempt, const http::ResponseParser& head) {
  const EntryDepth entry;
  const int status = head.status();
  split_.decode_answered();  // the decode pod answers (EPP mode: the sidecar's prefill leg is over)
  const HeadPlan plan = policy_of(env_).after_head(status, progress());
  if (plan.blame_endpoint) attempt.blame();
  if (plan.credit_endpoint) attempt.credit();
  if (plan.elsewhere_first) {
    Routed routed = dispatcher_.route_next(progress());
    if (routed.ok()) {
      env_.counters->upstream_retries.add();
      race_.end_lead(false, /*keep_body=*/true);  // the rest of the error body is not wanted
      return dispatch(std::move(routed));
    }
  }
  switch (plan.step) {
    case HeadStep::Rival:
      return end_race(race_.rival(attempt), HedgeResult::Failover);
    case HeadStep::Race:
      answer_.start(head, attempt, *state_.route, admission_.extra_headers(), state_.answering_server);
      reply_.park(race_.side(attempt));
      return;
    case HeadStep::Continue:
      return;
    case HeadStep::GiveUp:
      return end_with(plan.give_up);
    case HeadStep::Relay:
      return answer_.start(head, attempt, *state_.route, admission_.extra_headers(), state_.answering_server);
  }
}

std::string* Exchange::attempt_body_sink(Attempt& /*attempt*/) { return answer_.sink(race_.racing()); }

void Exchange::attempt_body(Attempt& attempt, std::string_view decoded) {
  const EntryDepth entry;
  // While racing, the first of the two to hold a whole event (its first token) is kept.
  if (race_.racing() && !reply_.in_place_open()) {
    if (race_.hold(attempt, decoded)) end_race(attempt, race_.won_by(attempt));
    return;
  }
  answer_.body(attempt, decoded);
}

void Exchange::attempt_end(Attempt& attempt, bool reusable) {
  const EntryDepth entry;
  // A racing answer that ended before it held a whole event is kept as it is.
  if (race_.racing()) end_race(attempt, race_.won_by(attempt));
  answer_.end(attempt);
  reply_.end_body();
  race_.end_lead(reusable && !env_.draining, /*keep_body=*/false);
  finish(ReplyEnd::Complete);
}

// The client has part of a stream and its server broke: the same request, the output
// so far appended, goes to another endpoint; its events are stitched onto the client's.
void Exchange::continue_stream(FailureKind kind) {
  RelayState& stream = answer_.stream();
  const std::optional<Reason> blocker = stream.prepare_continuation(env_.stream_events);
  if (stream.done()) {
    // The client has the whole stream ([DONE]); only the end of the body is missing.
    race_.end_lead(false, /*keep_body=*/false);
    reply_.end_body();
    return finish(ReplyEnd::Complete);
  }
  state_.stalled = kind == FailureKind::ReadIdleTimeout;
  if (blocker) return end_with(AttemptPolicy::continuation_blocked(*blocker, {}, progress()));
  const bool chat = state_.route->shape == openai::RouteShape::Chat;
  openai::ContinuationSpec spec;
  spec.chat = chat;
  spec.model_token = identity_.model_token;
  spec.text = stream.text();
  spec.tokens = stream.tokens();
  if (const auto obstacle = openai::build_continuation(state_.request->body, spec, leg_body_.scratch))
    return end_with(AttemptPolicy::continuation_blocked(*obstacle, {}, progress()));
  dispatcher_.tried().broke_mid_stream.push_back(race_.lead().endpoint_id());
  if (state_.migrations == 0) {
    dispatcher_.tried().first_broken = race_.lead().destination();
    state_.migration_reason = state_.stalled ? Reason::Stall : Reason::Reset;
  }
  race_.end_lead(false, /*keep_body=*/false);
  ++state_.migrations;
  state_.leg_attempts = 0;
  state_.leg_started_ms = *env_.now_ms;
  state_.fresh_retry_used = false;
  answer_.start_leg(state_.migration_reason);
  leg_body_.take_scratch();
  next_attempt();
}

// The request ends with the policy's error; a broken stream's says what broke it and,
// when there is more to say, why it did not go on elsewhere. A stream that reached the
// client and could not go on elsewhere (plan.not_continued) is counted by why, here only
// (a stream is continued only when it is an event stream).
void Exchange::end_with(const AttemptPlan& plan) {
  if (plan.not_continued && reply_.state().event_stream) stats_.migration(Outcome::GaveUp, *plan.not_continued);
  if (plan.detail.empty()) return end_with_error(plan.status, plan.code, plan.message);
  std::string message;
  message.reserve(plan.message.size() + 2 + plan.detail.size());
  message.append(plan.message).append("; ").append(plan.detail);
  end_with_error(plan.status, plan.code, message);
}

void Exchange::client_drained() { race_.lead().pause_reading(false); }

void Exchange::client_gone() {
  if (!state_.active) return;
  admission_.leave_flow(FlowOutcome::EvictedContextCancelled);  // a waiting request leaves the queue at once
  // The server stops generating once its connection goes.
  if (race_.connected()) env_.counters->client_disconnects_mid_response.add();
  close_out();
}

void Exchange::drain_started() {
  // A response whose head already promised keep-alive ends with the connection open
  // (the client may have sent its next request already); any other says close.
  if (!reply_.started()) reply_.close_after();
}

void Exchange::cut_at_shutdown() {
  if (!state_.active) return;
  reply_.close_after();
  end_with_error(503, "gateway_shutdown",
                 reply_.committed() ? "the gateway shut down before the response ended"
                                    : "the gateway shut down before the response began");
}

void Exchange::on_timer(net::Timer&) {
  const EntryDepth entry;
  // timeouts.request: the whole request, however many attempts and bytes it took.
  if (!state_.active) return;
  if (race_.connected()) env_.counters->upstream_failures.add();
  end_with_error(504, "request_timeout", "the request did not complete within the gateway's request timeout");
}

// The request is over, however it ended: its attempt, timer, queue place, rate budget
// and statistics.
void Exchange::close_out() {
  admission_.leave_flow(FlowOutcome::EvictedContextCancelled);  // a timeout or a drain cut while queued
  response_wait_.cancel();
  request_timer_.cancel();
  split_.end();  // a client that leaves mid-prefill stops the prefill pod
  race_.end_lead(false, /*keep_body=*/false);
  const openai::UsageScanner& usage = stats_.usage();
  const bool reached_a_server = reply_.state().from_model_server || state_.attempts > 0;
  admission_.settle(usage.prompt_tokens(), usage.completion_tokens(), reached_a_server);
  digest_.trim();
  RequestOutcome outcome;
  outcome.status = reply_.state().status;
  outcome.from_model_server = reply_.state().from_model_server;
  outcome.attempts = state_.attempts;
  outcome.migrations = state_.migrations;
  outcome.http_version = uint8_t(state_.request->version_major * 10 + state_.request->version_minor);
  outcome.request_id = identity_.request_id;
  outcome.model = identity_.fields.model;
  outcome.target_model = identity_.target_model;
  const Attempt& lead = race_.lead();
  outcome.endpoint = lead.destination();
  outcome.first_endpoint = dispatcher_.tried().first_broken;
  if (state_.migrations > 0) outcome.migration = metrics::name(state_.migration_reason);
  if (state_.attempts > 0 && state_.migrations == 0 && !split_.split() && lead.delivered()) {
    outcome.latency_endpoint = lead.endpoint_id();
    outcome.sent_ns = lead.sent_ns();
    outcome.features = lead.features();
  }
  stats_.record(outcome);
  answer_.clear();
  state_.active = false;
}

void Exchange::finish(ReplyEnd how) {
  close_out();
  // Last: the client may start its next (pipelined) request on this same Exchange.
  reply_.finished(how);
}

void Exchange::end_with_error(int status, std::string_view code, std::string_view message,
                              std::string_view retry_after) {
  race_.end_lead(false, /*keep_body=*/false);
  std::string_view headers = admission_.extra_headers();
  std::string with_retry_after;
  if (!retry_after.empty()) {
    with_retry_after.assign(headers).append(retry_after);
    headers = with_retry_after;
  }
  finish(reply_.fail(status, code, message, headers));
}

}  // namespace ringgate::proxy
