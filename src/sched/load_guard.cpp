#include "ringgate/sched/load_guard.h"

#include <algorithm>

namespace ringgate::sched {

double apply_load_guard(std::span<EndpointSignals> candidates, const SchedulerConfig& config) {
  if (candidates.empty()) return 0;
  double sum = 0, min_load = candidates[0].load;
  for (const EndpointSignals& c : candidates) {
    sum += c.load;
    min_load = std::min(min_load, c.load);
  }
  double mean = sum / double(candidates.size());
  // Measured against the least-loaded candidate, not the mean: when most of
  // the pool already holds a hot prefix the mean rises with them and an idle
  // server would never be used. The allowed gap scales with the mean (a
  // 50%-of-mean gap at factor 1.5) but never below min_excess requests, so
  // small absolute differences at light load do not trip it.
  double allowed_gap = std::max((config.load_guard_factor - 1.0) * mean, config.load_guard_min_excess);
  for (EndpointSignals& c : candidates) c.overloaded = c.load - min_load > allowed_gap;
  return mean;
}

}  // namespace ringgate::sched
