#include "ringgate/proxy/dispatcher.h"

#include <vector>

#include "ringgate/proxy/route_hints.h"

namespace ringgate::proxy {

namespace {

DispatchStep stays() {
  DispatchStep step;
  step.verdict = DispatchVerdict::Stays;
  return step;
}

DispatchStep refusal(int status, std::string_view code, std::string_view message, std::string_view retry_after = {}) {
  DispatchStep step;
  step.verdict = DispatchVerdict::Refused;
  step.status = status;
  step.code = code;
  step.message = message;
  step.retry_after = retry_after;
  return step;
}

}  // namespace

void Dispatcher::begin(http::Request& request, const openai::ApiRoute& route) {
  request_ = &request;
  route_ = &route;
  held_saw_server_ = false;
  tried_.clear();
}

// What routing is told of the request.
RouteRequest Dispatcher::route_request(const RequestProgress& progress) {
  openai::RequestFields& fields = identity_.fields;
  if (progress.attempts > 0 && !identity_.digested) {
    // A retry runs after other requests used this worker's BodyReader: the prompt
    // views point into its reused buffers, so read the (unchanged) body again.
    const http::BodyBuffer& body = request_->body;
    env_.body_reader.read(*route_, request_->header("content-type"), body, body.capacity(), fields);
  }
  RouteRequest route;
  route.model = identity_.target_model;
  route.stats_target = stats_.label(identity_.target_model);
  route.prompt_parts = fields.prompt_parts;
  route.body = request_->body;
  route.text_fields = route_->routed_text();
  if (identity_.digested) {
    route.prefix_chain = digest_.chain();
    route.chained = true;
    route.root_blocks = digest_.root_blocks();
    route.prompt_bytes = digest_.prompt_bytes();
  }
  const RequestRules& rules = *env_.rules;
  add_route_hints(route, *request_, fields.keys, rules);
  return route;
}

// Where the next attempt goes (endpoints already tried are excluded).
Routed Dispatcher::route_next(const RequestProgress& progress) {
  // The pick is one span of the request's trace (when sampled), however it was made.
  Routed picked = [&] {
    RouteRequest route = route_request(progress);
    if (affinity_.pinned()) {
      // Its server or none: a retry elsewhere would meet a server without the response.
      const bool routes = AttemptPolicy::pinned_routes(progress);
      Routed to = routes ? env_.router->route_to(affinity_.server(), route) : Routed{};
      if (!routes || !to.ok()) {
        const AffinityError gone = affinity_.gone();
        to.decision.status = gone.status;
        to.decision.code = gone.code;
        to.decision.message = gone.message;
      }
      return to;
    }
    // A first dispatch under flow control never goes to a saturated endpoint (it waits
    // instead); a retry or a continuation goes wherever is left.
    route.hold_when_saturated = progress.attempts == 0 && (admission_.flow_enabled() || admission_.held());
    route.exclude = tried_.tried;
    route.first_attempt = progress.attempts == 0;
    Routed routed = env_.router->route(route);
    std::vector<uint32_t> exclude;  // every endpoint had it: a continuation may go back to some
    if (!routed.ok() && AttemptPolicy::continuation_may_return(tried_.tried, tried_.broke_mid_stream, exclude)) {
      route.exclude = exclude;
      const uint64_t first_started_ns = routed.decision.started_ns;
      routed = env_.router->route(route);
      routed.decision.started_ns = first_started_ns;  // the pick's span: both
    }
    return routed;
  }();
  stats_.trace().picked(picked.decision, progress.continuing ? TraceLeg::Migration : TraceLeg::Attempt);
  return picked;
}

Routed Dispatcher::route_hedge(const RequestProgress& progress) {
  RouteRequest route = route_request(progress);
  route.exclude = tried_.tried;
  route.first_attempt = false;
  route.hold_when_saturated = admission_.flow_enabled();
  Routed hedge = env_.router->route(route);
  if (hedge.ok()) tried_.add(hedge.decision.endpoint_id);
  return hedge;
}

Routed Dispatcher::route_prefill(std::span<const uint32_t> exclude) {
  RouteRequest route = route_request(RequestProgress{});  // (no attempt yet)
  route.leg = sched::PickLeg::Prefill;
  route.session_id = {};  // a session keeps to its decode pod
  route.exclude = exclude;
  route.first_attempt = false;  // the request's scheduling attempt is its decode pick
  Routed routed = env_.router->route(route);
  stats_.trace().picked(routed.decision, TraceLeg::Prefill);
  return routed;
}

bool Dispatcher::holds_for_server(const RouteDecision& decision, const RequestProgress& progress) const {
  return decision.status == 503 && decision.code == "no_endpoint" && progress.attempts == 0 && !progress.continuing &&
         !affinity_.pinned() && admission_.may_hold();
}

DispatchStep Dispatcher::refused(const AdmissionDecision& decision, AdmissionOutcome outcome) {
  stats_.trace().admitted(outcome, true, admission_.rate_limited());
  return refusal(decision.status, decision.code, decision.message, decision.retry_after);
}

DispatchStep Dispatcher::enqueue() {
  // The queue's dispatch cycle runs at once: with room in the pool this dispatches
  // (and may end the exchange) before it returns, so nothing may follow it.
  const AdmissionDecision queued =
      admission_.enqueue(&waiter_, stats_.label(identity_.fields.model), stats_.label(identity_.target_model));
  if (queued.verdict == AdmissionVerdict::Refused) return refused(queued, AdmissionOutcome::QueueFull);
  return {};
}

DispatchStep Dispatcher::wait_for_server() {
  held_saw_server_ = false;
  const AdmissionDecision held = admission_.hold(&waiter_, identity_.target_model, stats_.label(identity_.fields.model),
                                                 stats_.label(identity_.target_model));
  if (held.verdict == AdmissionVerdict::Refused) return refused(held, AdmissionOutcome::NoEndpoint);
  return {};
}

DispatchStep Dispatcher::offered(const RequestProgress& progress) {
  Routed routed = route_next(progress);
  if (admission_.held()) return held_offered(std::move(routed), progress);
  if (routed.decision.saturated) return stays();                              // stays queued
  if (holds_for_server(routed.decision, progress)) return wait_for_server();  // the wait goes on in the model's queue
  return leave_queue(std::move(routed));
}

DispatchStep Dispatcher::leave_queue(Routed routed) {
  admission_.leave_flow(FlowOutcome::Dispatched);
  if (!routed.ok()) return refusal(routed.decision.status, routed.decision.code, routed.decision.message);
  DispatchStep step;
  step.verdict = DispatchVerdict::Send;
  step.routed = std::move(routed);
  return step;
}

// A request held for its model's first server: still none (it stays, and its model's
// cycle stops); a saturated one (the new server's metrics are not fresh yet, or its
// queue is long): the flow-control queue with a fresh TTL, or without flow control it
// stays here, paced by the same saturation detector; a server with room: dispatched.
DispatchStep Dispatcher::held_offered(Routed routed, const RequestProgress& progress) {
  if (holds_for_server(routed.decision, progress)) return stays();
  if (routed.decision.saturated) {
    held_saw_server_ = true;
    if (!admission_.flow_enabled()) return stays();
    const AdmissionDecision queued = admission_.enqueue(&waiter_, stats_.label(identity_.fields.model),
                                                        stats_.label(identity_.target_model), /*offer=*/false);
    if (queued.verdict == AdmissionVerdict::Refused) return refused(queued, AdmissionOutcome::QueueFull);
    return {};
  }
  return leave_queue(std::move(routed));
}

DispatchStep Dispatcher::evicted(FlowOutcome outcome) {
  // Held for a model that never got a server: 503, the pool's answer (llm-d's
  // EvictedNoEndpoints); a TTL with servers there: 429, as llm-d answers it.
  if (admission_.held() && outcome == FlowOutcome::EvictedTTL && !held_saw_server_) {
    admission_.leave_flow(FlowOutcome::EvictedNoEndpoints);
    stats_.trace().admitted(AdmissionOutcome::NoEndpoint, true, admission_.rate_limited());
    return refusal(503, "no_endpoint", "no model server for the requested model became ready while the request waited",
                   kRefusedNoEndpoints);
  }
  admission_.leave_flow(outcome);
  const bool ttl = outcome == FlowOutcome::EvictedTTL;
  stats_.trace().admitted(ttl ? AdmissionOutcome::QueueTimeout : AdmissionOutcome::QueueEvicted, true,
                          admission_.rate_limited());
  if (ttl)
    return refusal(429, "queue_timeout",
                   "every model server stayed saturated while the request waited in the gateway's queue", kEvictedTtl);
  return refusal(admission_.sheddable() ? 429 : 503, "queue_full",
                 "the request was evicted from the gateway's queue by higher-priority traffic", kEvictedDisplaced);
}

}  // namespace ringgate::proxy
