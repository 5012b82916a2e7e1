#pragma once
#include <span>

#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/scheduler_config.h"

namespace ringgate::sched {

// Marks as overloaded the candidates whose load exceeds the least-loaded
// candidate's by more than max((factor - 1) x mean load, min_excess).
// Returns the mean load.
double apply_load_guard(std::span<EndpointSignals> candidates, const SchedulerConfig& config);

}  // namespace ringgate::sched
