// Scorer "latency" (llm-d latency-scorer, without objectives): the request's predicted
// TTFT at each candidate, from the latency model's coefficients in the snapshot
// (latency_prediction.h): the fastest scores 1, the slowest 0, linear between, over the
// candidates of this decision. Fixed weights cannot tell that one server prefills three
// times faster than another; the fit can. While the model is cold (no fit has enough
// samples), every candidate scores 1: it changes nothing.
#include <algorithm>

#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/latency_prediction.h"
#include "ringgate/sched/scheduler.h"
#include "ringgate/sched/scorers.h"

namespace ringgate::sched {

void score_latency(std::span<EndpointSignals> candidates, const ScoreContext& context) {
  const size_t slot = context.slot;
  if (candidates.empty()) return;
  predict_latency(candidates, context.snapshot, context.total_blocks, context.request.tokens_per_block);
  const bool cold = std::all_of(candidates.begin(), candidates.end(), [](const EndpointSignals& c) { return c.latency_cold; });
  double fastest = candidates[0].predicted_ttft_ms, slowest = fastest;
  for (const EndpointSignals& c : candidates) {
    fastest = std::min(fastest, c.predicted_ttft_ms);
    slowest = std::max(slowest, c.predicted_ttft_ms);
  }
  const double range = slowest - fastest;
  for (EndpointSignals& c : candidates)
    c.scores[slot] = cold || !(range > 0) ? 1.0 : (slowest - c.predicted_ttft_ms) / range;
}

}  // namespace ringgate::sched
