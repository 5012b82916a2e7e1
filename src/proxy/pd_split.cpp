#include "ringgate/proxy/pd_split.h"

#include <string>

#include "ringgate/openai/disaggregated_request.h"
#include "ringgate/proxy/forward_head.h"
#include "ringgate/util/json_text.h"

namespace ringgate::proxy {

void PdSplit::begin(const http::Request& request, const openai::ApiRoute& route) {
  request_ = &request;
  route_ = &route;
  split_ = false;
}

// Completions and chats only: theirs are the shapes the legs are written for.
bool PdSplit::decide(const RouteDecision& decode, RouteTicket& decode_ticket) {
  const bool chat = route_->shape == openai::RouteShape::Chat;
  const bool wanted = decode.uncached_tokens >= env_.options->disaggregation.non_cached_tokens &&
                      route_->shape != openai::RouteShape::Other && !identity_.fields.model_in_form;
  Routed prefill_routed;  // its ticket given back on return unless the prefill leg takes it
  if (wanted) {
    const uint32_t decode_id = decode.endpoint_id;
    prefill_routed = route_prefill(std::span<const uint32_t>(&decode_id, 1));
  }
  const RouteDecision& prefill = prefill_routed.decision;
  RouteTicket& prefill_ticket = prefill_routed.ticket;
  const bool splits = wanted && prefill_routed.ok();
  env_.stats->disaggregation.decisions
      .find_or_add(metrics::pd_decision_key(stats_.label(identity_.target_model), splits, env_.key_scratch))
      .add();
  if (!splits) return false;
  split_ = true;
  identity_.prefill_endpoint.assign(prefill.endpoint_host).push_back(':');
  util::append_uint(identity_.prefill_endpoint, prefill.endpoint_port);
  if (!env_.sends_prefill_leg) {
    // EPP mode: the decode pod's sidecar runs the prefill leg; the prompt is recorded at the
    // prefill pod, which counts the leg until the decode pod's answer begins.
    remote_prefill_.begin(std::move(prefill_ticket));
    return false;
  }
  // The decode pod's ticket is held (its load is coming; the prompt recorded there now:
  // it will hold the blocks it pulls); the attempt opens after the prefill.
  decode_.hold(decode, std::move(decode_ticket));
  if (!openai::build_prefill_request(request_->body, {chat, identity_.model_token}, leg_body_.scratch)) {
    prefill_ticket.release();  // no prefill leg
    prefill_done({});          // (the server will say what is wrong with the body)
    return true;
  }
  std::string head;
  build_upstream_head(head, *request_, identity_.request_id, identity_.gateway_request_id, leg_body_.scratch.size(),
                      admission_.keyed(), stats_.trace().on());
  prefill_.start(std::move(prefill_ticket), prefill, head, leg_body_.scratch,
                 {stats_.trace().on() ? &stats_.trace() : nullptr, TraceLeg::Prefill},
                 /*add_host=*/!http::has_header(request_->headers, "host"));
  return true;
}

Routed PdSplit::route_prefill(std::span<const uint32_t> exclude) { return dispatcher_.route_prefill(exclude); }

// The decode leg: with the prefill's kv_transfer_params, or decode-only when the prefill
// leg failed (the decode pod prefills, as without disaggregation).
void PdSplit::prefill_done(std::string_view kv_transfer_params) {
  identity_.prefill_endpoint.clear();  // named to the client only when the decode leg carries its params
  const bool chat = route_->shape == openai::RouteShape::Chat;
  if (!kv_transfer_params.empty() && openai::build_decode_request(request_->body, {chat, identity_.model_token},
                                                                  kv_transfer_params, leg_body_.scratch)) {
    leg_body_.take_scratch();
    identity_.prefill_endpoint = prefill_.destination();
  }
  owner_.decode_ready(decode_.decision(), decode_.begin_decode(*env_.now_ms));
}

void PdSplit::end() {
  prefill_.cancel();  // a client that leaves mid-prefill stops the prefill pod
  remote_prefill_.end();
  if (decode_.waiting()) {
    decode_.drop();
  } else if (split_ && env_.sends_prefill_leg) {
    env_.stats->disaggregation.leg_duration[1].observe(double(*env_.now_ms - decode_.decode_started_ms()) / 1e3,
                                                       metrics::kPdLegDurationBuckets);
  }
}

}  // namespace ringgate::proxy
