// Scorer "queue" (llm-d queue-scorer): the less loaded, the better.
#include <algorithm>
#include <cmath>

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
  double min_q = candidates[0].load, max_q = candidates[0].load, sum = 0;
  bool queueing = false;
  for (const EndpointSignals& c : candidates) {
    min_q = std::min(min_q, c.load);
    max_q = std::max(max_q, c.load);
    sum += c.load;
    queueing |= c.waiting > 0;
  }
  // The noise band, while no server queues: each then starts a new request at once, and
  // their in-flight counts, under Poisson arrivals, spread by about the square root of
  // their mean, so differences inside that are noise. Chasing them moved a prompt between
  // the servers holding it on every request, kept each copy warm and, with the pool's KV
  // full, evicted other prompts until the pool collapsed (perf/routing/README "The noise
  // band"). Inside the band every server scores 1 and the tie goes to the KV cache, then
  // to the prompt's rendezvous order. Once a server queues, every request ahead delays a
  // first token there, and plain min-max decides; so it does for a prompt no server holds
  // any of (no copy to keep: CONTROL's unique prompts lost TTFT to the band).
  const bool banded = context.config.local_noise_band && !queueing && !is_cold_request(candidates);
  const double band = banded ? std::sqrt(sum / double(candidates.size())) : 0.0;
  const double range = max_q - min_q - band;
  for (EndpointSignals& c : candidates) {
    const double over = c.load - min_q - band;
    c.scores[slot] = over > 0 && range > 0 ? 1.0 - over / range : 1.0;
  }
}

}  // namespace ringgate::sched
