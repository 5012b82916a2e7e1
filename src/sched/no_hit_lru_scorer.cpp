// Scorer "no-hit-lru" (llm-d no-hit-lru-scorer): a prompt no candidate holds any of (a
// cold request, whose blocks are all new) goes to the server that least recently took
// one, so new cache grows evenly; a warm request scores 0.5 everywhere (neutral).
// Rank: servers never sent a cold request first (in candidate order), then the others
// from the least recently sent; score 1 - rank / (n - 1).
#include <algorithm>

#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/scheduler_config.h"
#include "ringgate/sched/scorers.h"

namespace ringgate::sched {

bool is_cold_request(std::span<const EndpointSignals> candidates) {
  return std::none_of(candidates.begin(), candidates.end(),
                      [](const EndpointSignals& c) { return c.prefix_blocks > 0; });
}

void score_no_hit_lru(std::span<EndpointSignals> candidates, const ScoreContext& context) {
  const size_t slot = context.slot;
  const size_t n = candidates.size();
  if (!is_cold_request(candidates)) {
    for (EndpointSignals& c : candidates) c.scores[slot] = 0.5;
    return;
  }
  if (n == 1) {
    candidates[0].scores[slot] = 1.0;
    return;
  }
  size_t never = 0;  // never-used candidates seen so far: their rank
  size_t never_total = 0;
  for (const EndpointSignals& c : candidates)
    if (c.cold_stamp == 0) ++never_total;
  for (EndpointSignals& c : candidates) {
    size_t rank;
    if (c.cold_stamp == 0) {
      rank = never++;
    } else {
      // Quadratic in the candidates, without allocating; stamps are unique (a counter).
      size_t older = 0;
      for (const EndpointSignals& o : candidates)
        if (o.cold_stamp != 0 && o.cold_stamp < c.cold_stamp) ++older;
      rank = never_total + older;
    }
    c.scores[slot] = std::max(0.0, 1.0 - double(rank) / double(n - 1));
  }
}

}  // namespace ringgate::sched
