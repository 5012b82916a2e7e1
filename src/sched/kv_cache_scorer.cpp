// Scorer "kv-cache" (llm-d kv-cache-utilization-scorer): the more free KV cache, the better.
#include <algorithm>

#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/scheduler_config.h"
#include "ringgate/sched/scorers.h"

namespace ringgate::sched {

void score_kv_cache(std::span<EndpointSignals> candidates, const ScoreContext& context) {
  const double step = context.config.load_signal == LoadSignal::Shared ? context.config.shared_load.kv_step : 0.0;
  for (EndpointSignals& c : candidates)
    c.scores[context.slot] = c.fresh ? 1.0 - to_step(std::clamp(c.kv_usage, 0.0, 1.0), step) : 0.5;
}

}  // namespace ringgate::sched
