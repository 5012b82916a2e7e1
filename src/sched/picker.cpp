#include "ringgate/sched/picker.h"

namespace ringgate::sched {

size_t pick_max_score(std::span<const EndpointSignals> candidates, Rng& rng) {
  constexpr double kTie = 1e-9;
  size_t best = 0;
  size_t ties = 1;
  for (size_t i = 1; i < candidates.size(); ++i) {
    double t = candidates[i].total, b = candidates[best].total;
    if (t > b + kTie) {
      best = i;
      ties = 1;
    } else if (t >= b - kTie) {
      const uint64_t r = candidates[i].tie_rank, rb = candidates[best].tie_rank;
      if (r > rb) {
        best = i;
        ties = 1;
      } else if (r == rb) {
        // Reservoir sampling: each of the tied candidates ends up chosen
        // with probability 1/ties.
        ++ties;
        if (rng.below(ties) == 0) best = i;
      }
    }
  }
  return best;
}

}  // namespace ringgate::sched
