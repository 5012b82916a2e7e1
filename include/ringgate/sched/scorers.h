#pragma once
// Scorers: each writes a score in [0,1] into every candidate's signals.

#include <cstdint>
#include <span>

#include "ringgate/sched/endpoint_signals.h"

namespace ringgate::sched {

// (maxQ - q) / (maxQ - minQ) over `load` (waiting + in-flight); 1 for all when equal.
void score_queue(std::span<EndpointSignals> candidates);
// 1 - kv_usage when fresh, 0.5 (unknown) when stale.
void score_kv_cache(std::span<EndpointSignals> candidates);
// prefix_blocks / total_blocks; 1 for the placement endpoint; 0 when overloaded
// (load guard) or when total_blocks is 0.
void score_prefix(std::span<EndpointSignals> candidates, uint32_t total_blocks);

}  // namespace ringgate::sched
