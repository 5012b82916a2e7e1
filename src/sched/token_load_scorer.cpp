// Scorer "token-load" (llm-d token-load-scorer): the fewer tokens in flight there, the
// better, on an absolute scale: 1 - min(1, tokens / queueThresholdTokens).
#include <algorithm>

#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/scheduler_config.h"
#include "ringgate/sched/scorers.h"

namespace ringgate::sched {

void score_token_load(std::span<EndpointSignals> candidates, const ScoreContext& context) {
  const double threshold = double(std::max<int64_t>(1, context.config.token_load.queue_threshold_tokens));
  for (EndpointSignals& c : candidates)
    c.scores[context.slot] = c.inflight_tokens <= 0 ? 1.0 : 1.0 - std::min(1.0, c.inflight_tokens / threshold);
}

}  // namespace ringgate::sched
