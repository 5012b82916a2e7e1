#pragma once
// A request's latency objectives: llm-d's SLO headers (x-slo-ttft-ms, x-slo-tpot-ms;
// the x-llm-d-slo-*-ms spelling too), parsed once per request by the proxy
// (proxy/route_hints.cpp) and handed to the scheduler in PickRequest. 0 = no objective.
#include <string_view>

namespace ringgate::sched {

// Objectives past this are no objective at all (one hour, LatencyModel's kMaxLatencyMs).
inline constexpr double kMaxSloMs = 3.6e6;

struct SloTargets {
  double ttft_ms = 0;  // time to first token
  double tpot_ms = 0;  // time per output token after the first
  bool any() const { return ttft_ms > 0 || tpot_ms > 0; }
};

// A header value as an objective in milliseconds: a plain decimal number ("250",
// "37.5"), at most 16 characters, > 0 and <= kMaxSloMs; anything else is 0 (no
// objective). llm-d does the same: a value that does not parse is logged and ignored,
// the request is routed as one without an objective, never refused.
double parse_slo_ms(std::string_view value);

}  // namespace ringgate::sched
