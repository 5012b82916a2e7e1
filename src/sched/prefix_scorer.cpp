// Scorer "prefix" (llm-d prefix-cache-scorer): the longer the prompt's cached lead, the
// better. The index lookup that fills prefix_blocks and the placement of unseen prefixes
// happen in the scheduler before scoring (the load guard needs them first); this scorer
// only turns them into a score.
#include <algorithm>

#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/scorers.h"

namespace ringgate::sched {

void score_prefix(std::span<EndpointSignals> candidates, const ScoreContext& context) {
  const uint32_t total_blocks = context.total_blocks;
  if (context.prefix_stands_down) {  // load decides among the holders the filter kept
    for (EndpointSignals& c : candidates) c.scores[context.slot] = 0;
    return;
  }
  for (EndpointSignals& c : candidates) {
    double& score = c.scores[context.slot];
    if (c.overloaded || total_blocks == 0)
      score = 0;
    else if (c.placement)
      score = 1;
    else
      score = std::min(1.0, double(c.prefix_blocks) / total_blocks);
  }
}

}  // namespace ringgate::sched
