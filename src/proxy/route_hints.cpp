#include "ringgate/proxy/route_hints.h"

#include "ringgate/config/inference_objective.h"

namespace ringgate::proxy {

std::string_view objective_name(const http::Request& request) {
  std::string_view objective = request.header(config::inference_objective_header);
  if (objective.empty()) objective = request.header(config::inference_objective_header_llmd);
  return objective;
}

config::RewriteDecision pick_model_rewrite(const RequestRules& rules, std::string_view model, uint64_t random,
                                           const http::Request& request) {
  std::string_view forced = request.header(config::model_name_rewrite_header);
  if (forced.empty()) forced = request.header(config::model_name_rewrite_header_llmd);
  return rules.rewrites.pick(model, random, forced);
}

void add_route_hints(RouteRequest& route, const http::Request& request, const openai::RoutingKeys& keys,
                     const RequestRules& rules) {
  const std::string_view header = rules.session_header.empty() ? std::string_view() : request.header(rules.session_header);
  const sched::SessionChoice session = sched::choose_session(rules.session_keys, keys, header);
  route.session_id = session.id;
  route.session_source = session.source;
  route.sheddable = rules.sheddable(objective_name(request));
  route.saturation = &rules.flow.saturation;
  route.slo = slo_targets(request);
}

sched::SloTargets slo_targets(const http::Request& request) {
  auto one = [&](std::string_view name, std::string_view issue_name) {
    std::string_view v = request.header(name);
    if (v.empty()) v = request.header(issue_name);
    return sched::parse_slo_ms(v);
  };
  return {one(kSloTtftHeader, kSloTtftHeaderIssue), one(kSloTpotHeader, kSloTpotHeaderIssue)};
}

}  // namespace ringgate::proxy
