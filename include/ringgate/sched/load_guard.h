#pragma once
#include <span>

#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/scheduler_config.h"

namespace ringgate::sched {

// Marks candidates whose load exceeds factor x mean load AND mean + min_excess
// (mean over the candidates) as overloaded. Returns the mean.
double apply_load_guard(std::span<EndpointSignals> candidates, const SchedulerConfig& config);

}  // namespace ringgate::sched
