#pragma once
// Scorers: each writes a score in [0,1] into every candidate's signals.

#include <cstdint>
#include <span>

#include "ringgate/sched/endpoint_signals.h"

namespace ringgate::sched {

// (maxQ - q) / (maxQ - minQ) over `load` (waiting + in-flight); 1 for all when equal.
void score_queue(std::span<EndpointSignals> candidates);
// `value` down to a multiple of `step` (step <= 0: unchanged).
double to_step(double value, double step);
// 1 - load / full_load, clamped to [0,1]: an absolute scale, so a candidate's score
// does not depend on the others' (shared load signal); 1 for all when full_load <= 0.
void score_queue_absolute(std::span<EndpointSignals> candidates, double full_load);
// 1 - kv_usage when fresh (kv_usage down to a multiple of `step` when step > 0: the
// shared load signal), 0.5 (unknown) when stale.
void score_kv_cache(std::span<EndpointSignals> candidates, double step = 0);
// prefix_blocks / total_blocks; 1 for the placement endpoint; 0 when overloaded
// (load guard) or when total_blocks is 0.
void score_prefix(std::span<EndpointSignals> candidates, uint32_t total_blocks);

}  // namespace ringgate::sched
