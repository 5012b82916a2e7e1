// Scorer "context-length" (llm-d context-length-aware): a prompt goes to the servers
// deployed for its length, the tighter their range and the more room left in it the
// better; out of every range, to the nearest (llm-d's calculateRangeScore, the same numbers).
#include "ringgate/sched/context_length_range.h"
#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/sched/scheduler.h"
#include "ringgate/sched/scorers.h"

namespace ringgate::sched {

double context_length_score(uint32_t tokens, const ContextLengthRange& range) {
  constexpr double kMaxFallbackScore = 0.3;                // an in-range match always scores above it
  if (range.state == ContextRangeState::None) return 0.5;  // holds any length: neutral
  if (range.state == ContextRangeState::Malformed) return 0;
  if (range.holds(tokens)) {
    const double width = double(range.max - range.min);
    if (width == 0) return 1.0;
    const double width_score = 1.0 / (1.0 + width / 10000.0);
    const double position_score = double(range.max - tokens) / width;
    const double raw = 0.7 * width_score + 0.3 * position_score;
    return kMaxFallbackScore + raw * (1.0 - kMaxFallbackScore);
  }
  const double distance = tokens > range.max ? double(tokens - range.max) : double(range.min - tokens);
  return kMaxFallbackScore / (1.0 + distance / 1000.0);
}

void score_context_length(std::span<EndpointSignals> candidates, const ScoreContext& context) {
  for (EndpointSignals& c : candidates)
    c.scores[context.slot] =
        context_length_score(context.request.prompt_tokens, context.snapshot.scoring_view(c.index).context_range);
}

}  // namespace ringgate::sched
