#pragma once
// Flow control and rate limits on :9090: GAIE's flow-control families
// (inference_extension_flow_control_* and llm-d's llm_d_epp_flow_control_*) from the
// workers' per-band statistics, ringgate_rate_limit_rejections_total per tenant, and
// the /debug/flow page. The flow-control families appear once a request has been
// through a queue (flow control enabled), so a gateway without it shows none.
#include <span>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "ringgate/metrics/gateway_stats.h"
#include "ringgate/proxy/rate_limiter.h"
#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/sched/inflight_counters.h"
#include "ringgate/sched/saturation_detector.h"

namespace ringgate::control {

struct FlowView {
  std::string pool_name;
  const sched::EndpointSnapshot* snapshot = nullptr;
  const sched::InflightCounters* inflight = nullptr;
  sched::SaturationConfig saturation;  // the loaded config's (hot-reloaded with the rules)
  sched::Clock::time_point now{};
  const proxy::RateLimiter* limiter = nullptr;
};

// GAIE's pool saturation: the mean over routable endpoints of their saturation
// (max(waiting / queue threshold, kv / kv threshold), a stale endpoint 1); 1 with none.
double pool_saturation(const FlowView& view);

void append_flow_families(const FlowView& view, std::span<const metrics::WorkerStats* const> workers, bool gaie,
                          bool llmd, std::vector<prometheus::MetricFamily>& out);

// /debug/flow: the queues per band (all workers), each endpoint's saturation, the rate limiter.
std::string render_debug_flow(const FlowView& view, std::span<const metrics::WorkerStats* const> workers);

}  // namespace ringgate::control
