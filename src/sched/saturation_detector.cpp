#include "ringgate/sched/saturation_detector.h"

#include <algorithm>

namespace ringgate::sched {

double estimated_waiting(const EndpointSignals& s) { return std::max(s.waiting, double(s.inflight) - s.running); }

bool endpoint_saturated(const EndpointSignals& s, const SaturationConfig& c, bool sheddable) {
  if (!s.fresh || s.metrics_age > c.metrics_staleness_threshold) return true;
  if (c.max_concurrency > 0) {
    // For a sheddable request the headroom counts as taken until non-sheddable
    // requests in flight there fill it: they use the reserve first.
    double taken = double(s.inflight);
    if (sheddable) {
      const double others = double(s.inflight - s.sheddable_inflight);
      taken = double(s.sheddable_inflight) + std::max(others, c.sheddable_headroom);
    }
    if (taken >= c.max_concurrency) return true;
  }
  return estimated_waiting(s) >= c.queue_depth_threshold || s.kv_usage >= c.kv_cache_util_threshold;
}

double endpoint_saturation(const EndpointSignals& s, const SaturationConfig& c) {
  if (!s.fresh || s.metrics_age > c.metrics_staleness_threshold) return 1.0;
  const double q = c.queue_depth_threshold > 0 ? estimated_waiting(s) / c.queue_depth_threshold : 0.0;
  const double kv = c.kv_cache_util_threshold > 0 ? s.kv_usage / c.kv_cache_util_threshold : 0.0;
  const double inflight = c.max_concurrency > 0 ? double(s.inflight) / c.max_concurrency : 0.0;
  return std::max({0.0, q, kv, inflight});
}

}  // namespace ringgate::sched
