// Scorer "queue" (llm-d queue-scorer): the less loaded, the better.
#include <algorithm>

#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/scheduler_config.h"
#include "ringgate/sched/scorers.h"

namespace ringgate::sched {

void score_queue(std::span<EndpointSignals> candidates, const ScoreContext& context) {
  const size_t slot = context.slot;
  if (context.config.load_signal == LoadSignal::Shared) {
    // Absolute: replicas that see the same stepped load give the same score.
    const double full_load = kSharedQueueSteps * context.config.shared_load.step;
    for (EndpointSignals& c : candidates)
      c.scores[slot] = full_load > 0 ? 1.0 - std::clamp(c.load / full_load, 0.0, 1.0) : 1.0;
    return;
  }
  if (candidates.empty()) return;
  double min_q = candidates[0].load, max_q = candidates[0].load;
  for (const EndpointSignals& c : candidates) {
    min_q = std::min(min_q, c.load);
    max_q = std::max(max_q, c.load);
  }
  const double range = max_q - min_q;
  for (EndpointSignals& c : candidates) c.scores[slot] = range > 0 ? (max_q - c.load) / range : 1.0;
}

}  // namespace ringgate::sched
