// Scorer "prefix" (llm-d prefix-cache-scorer): the longer the prompt's cached lead, the
// better. The index lookup that fills prefix_blocks and the placement of unseen prefixes
// happen in the scheduler before scoring (the load guard needs them first); this scorer
// only turns them into a score.
#include <algorithm>

#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/prefix_stand_down.h"
#include "ringgate/sched/scorers.h"

namespace ringgate::sched {

void score_prefix(std::span<EndpointSignals> candidates, const ScoreContext& context) {
  const uint32_t total_blocks = context.total_blocks;
  const double scale = context.prefix_stands_down ? kStoodDownPrefixScale : 1.0;  // prefix_stand_down.h
  for (EndpointSignals& c : candidates) {
    double& score = c.scores[context.slot];
    if (c.overloaded || total_blocks == 0)
      score = 0;
    else if (c.placement)
      score = scale;
    else
      score = scale * std::min(1.0, double(c.prefix_blocks) / total_blocks);
  }
}

}  // namespace ringgate::sched
