// Scorer "active-request" (llm-d active-request-scorer): requests in flight there (every
// replica's); idle servers (at most idleThreshold) score 1, busier ones
// (max - n) / max x maxBusyScore, the busiest 0.
#include <algorithm>

#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/scheduler_config.h"
#include "ringgate/sched/scorers.h"

namespace ringgate::sched {

void score_active_request(std::span<EndpointSignals> candidates, const ScoreContext& context) {
  const ActiveRequestConfig& config = context.config.active_request;
  int64_t most = 0;
  for (const EndpointSignals& c : candidates) most = std::max(most, c.inflight);
  for (EndpointSignals& c : candidates)
    c.scores[context.slot] = c.inflight <= config.idle_threshold || most <= 0
                                 ? 1.0
                                 : double(most - c.inflight) / double(most) * config.max_busy_score;
}

}  // namespace ringgate::sched
