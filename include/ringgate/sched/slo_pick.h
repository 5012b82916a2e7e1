#pragma once
// The SLO-aware pick (issue 35, llm-d's predicted-latency policy): a request with latency
// objectives (SloTargets) goes to a candidate predicted to meet all of them with the LEAST
// headroom to spare, so that the servers with room keep it for the requests that need it
// (llm-d's default "least" headroom strategy: bin-packing); when no candidate is predicted
// to meet them, to the one predicted fastest (lowest TTFT, or TPOT when only a TPOT
// objective is set) among those predicted to miss the TPOT objective whose predicted TTFT
// is within the TTFT objective or 4x the fastest's, if any (parked where it takes
// nothing from requests that can still be served in time, but never where it would wait
// far longer than anywhere else), else among all. Headroom is relative ((objective - predicted) / objective, the
// smaller of the two when both are set) so that a TTFT in hundreds of milliseconds and a
// TPOT in tens compare. Reads predicted_ttft_ms / predicted_tpot_ms (predict_latency
// first). Ties go to the higher score total, then the higher tie_rank.
#include <cstddef>
#include <optional>
#include <span>

#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/slo_targets.h"

namespace ringgate::sched {

struct SloPick {
  size_t position = 0;  // in candidates
  bool met = false;     // predicted to meet every objective
};

// True when `c` is predicted to meet every objective set in `slo`.
bool meets_slo(const EndpointSignals& c, const SloTargets& slo);

// No decision (nullopt) without objectives, with no candidate, or while every candidate's
// prediction is cold (no fit has kMinSamples samples: its numbers mean nothing yet).
std::optional<SloPick> pick_for_slo(std::span<const EndpointSignals> candidates, const SloTargets& slo);

}  // namespace ringgate::sched
