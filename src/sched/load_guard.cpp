#include "ringgate/sched/load_guard.h"

#include <algorithm>

namespace ringgate::sched {

double apply_load_guard(std::span<EndpointSignals> candidates, const SchedulerConfig& config) {
    if (candidates.empty()) return 0;
    double sum = 0;
    for (const EndpointSignals& c : candidates) sum += c.load;
    double mean = sum / double(candidates.size());
    // Both conditions: the factor alone would trip on tiny loads (2 vs mean 1),
    // the excess alone would never trip on large pools under heavy load.
    double limit = std::max(mean * config.load_guard_factor, mean + config.load_guard_min_excess);
    for (EndpointSignals& c : candidates) c.overloaded = c.load > limit;
    return mean;
}

}  // namespace ringgate::sched
