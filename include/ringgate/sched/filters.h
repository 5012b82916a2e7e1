#pragma once
// Candidate selection and saturation.

#include <chrono>
#include <span>
#include <string_view>

#include "ringgate/sched/endpoint_id.h"
#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/scheduler_config.h"

namespace ringgate::sched {

class InflightCounters;

enum class CandidateStatus { Ok, UnknownModel, NoneRoutable, AllExcluded };

// Fills `out` (which must have room for snapshot.size()) with the routable
// endpoints serving `model` (base model or LoRA adapter), minus `exclude`
// (endpoints that already failed this request) and those whose role does not take
// `leg`; sets `count`. Routable endpoints serving the model but none taking the leg:
// NoneRoutable.
CandidateStatus filter_candidates(const EndpointSnapshot& snapshot, std::string_view model,
                                  std::span<const EndpointId> exclude, const InflightCounters& inflight,
                                  Clock::time_point now, const SchedulerConfig& config, std::span<EndpointSignals> out,
                                  size_t& count, PickLeg leg = PickLeg::Decode);

// True when a sheddable request should not be sent there (stale metrics,
// queue at/over the depth threshold, or KV usage at/over its threshold).
bool is_saturated(const EndpointSignals& signals, const SchedulerConfig& config);

}  // namespace ringgate::sched
