#include "ringgate/sched/scorers.h"

#include <algorithm>
#include <cmath>

namespace ringgate::sched {

double to_step(double value, double step) { return step > 0 ? std::floor(value / step) * step : value; }

void score_queue(std::span<EndpointSignals> candidates) {
  if (candidates.empty()) return;
  double min_q = candidates[0].load, max_q = candidates[0].load;
  for (const EndpointSignals& c : candidates) {
    min_q = std::min(min_q, c.load);
    max_q = std::max(max_q, c.load);
  }
  double range = max_q - min_q;
  for (EndpointSignals& c : candidates) c.queue_score = range > 0 ? (max_q - c.load) / range : 1.0;
}

void score_queue_absolute(std::span<EndpointSignals> candidates, double full_load) {
  for (EndpointSignals& c : candidates)
    c.queue_score = full_load > 0 ? 1.0 - std::clamp(c.load / full_load, 0.0, 1.0) : 1.0;
}

void score_kv_cache(std::span<EndpointSignals> candidates, double step) {
  for (EndpointSignals& c : candidates)
    c.kv_score = c.fresh ? 1.0 - to_step(std::clamp(c.kv_usage, 0.0, 1.0), step) : 0.5;
}

void score_prefix(std::span<EndpointSignals> candidates, uint32_t total_blocks) {
  for (EndpointSignals& c : candidates) {
    if (c.overloaded || total_blocks == 0)
      c.prefix_score = 0;
    else if (c.placement)
      c.prefix_score = 1;
    else
      c.prefix_score = std::min(1.0, double(c.prefix_blocks) / total_blocks);
  }
}

}  // namespace ringgate::sched
