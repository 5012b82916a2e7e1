#pragma once
// What a request's headers and the loaded rules add to its routing: the objective
// it names, a forced model rewrite, session affinity and sheddability. One place for
// the data path (Exchange) and the dry-run pick (/debug/pick), so both decide alike.
#include <cstdint>
#include <string_view>

#include "ringgate/config/rewrite_table.h"
#include "ringgate/http/request_parser.h"
#include "ringgate/proxy/request_router.h"
#include "ringgate/proxy/request_rules.h"

namespace ringgate::proxy {

// x-gateway-inference-objective (or llm-d's spelling); empty = none.
std::string_view objective_name(const http::Request& request);

// The model the request is routed and forwarded as: the rules' rewrite of `model`
// (a weighted split draws with `random`), or the target a rewrite header forces.
config::RewriteDecision pick_model_rewrite(const RequestRules& rules, std::string_view model, uint64_t random,
                                           const http::Request& request);

// Latency objectives: llm-d's headers (its predicted-latency plugins read these names),
// and the x-llm-d-slo-* spelling issue 35 gives them. A value that does not parse or is
// out of bounds is no objective (sched::parse_slo_ms: llm-d ignores it too).
inline constexpr std::string_view kSloTtftHeader = "x-slo-ttft-ms";
inline constexpr std::string_view kSloTpotHeader = "x-slo-tpot-ms";
inline constexpr std::string_view kSloTtftHeaderIssue = "x-llm-d-slo-ttft-ms";
inline constexpr std::string_view kSloTpotHeaderIssue = "x-llm-d-slo-tpot-ms";
sched::SloTargets slo_targets(const http::Request& request);

// The request's session (the first of the rules' session keys it carries: its body's
// `keys`, the session header), sheddability, latency objectives and the rules' saturation
// thresholds.
void add_route_hints(RouteRequest& route, const http::Request& request, const openai::RoutingKeys& keys,
                     const RequestRules& rules);

}  // namespace ringgate::proxy
