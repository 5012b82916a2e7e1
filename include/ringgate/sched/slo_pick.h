#pragma once
// The SLO-aware pick (issue 35, llm-d's predicted-latency policy): a request with latency
// objectives (SloTargets) goes to a candidate predicted to meet all of them (its p90 TTFT
// and TPOT within them, as llm-d's predictor predicts p90s; latency_model.h, "Spread") with the LEAST
// headroom to spare, so that the servers with room keep it for the requests that need it
// (llm-d's default "least" headroom strategy: bin-packing), or with the MOST (llm-d's
// "most": spreading, which leaves every server slack for what the predictions miss; see
// HeadroomStrategy); when no candidate is predicted
// to meet them, to the one predicted fastest (lowest TTFT, or TPOT when only a TPOT
// objective is set) among those predicted to miss the TPOT objective whose predicted TTFT
// is within the TTFT objective or 4x the fastest's, if any (parked where it takes
// nothing from requests that can still be served in time, but never where it would wait
// far longer than anywhere else), else among all. Headroom is relative ((objective - predicted) / objective, the
// smaller of the two when both are set) so that a TTFT in hundreds of milliseconds and a
// TPOT in tens compare. Reads predicted_ttft_p90_ms / predicted_tpot_p90_ms (met, headroom)
// and the means (the fallback; predict_latency first). Ties go to the higher score total,
// then the higher tie_rank. Met on the mean, the pick packed each fast server to where half
// of what it placed there missed: on issue 35's mixed pool at 90% load it attained less
// than the default scorers in 4 of 10 runs (issue 52; perf/routing/README.md).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/slo_targets.h"

namespace ringgate::sched {

// llm-d's headroomSelectionStrategy (config scheduler.headroomSelectionStrategy).
// Least packs each server up to its objectives' edge (its p90 there), Most keeps the load
// spread over the servers that meet the objectives. On issue 35's mixed pool at 90% load
// (perf/routing/slo.sh, seeds 1-10, 2026-11-27) Least attained 70.5-79.4% (median 76.1)
// and Most 73.3-85.5% (median 77.9) against the default scorers' 66.0-70.6%. Least is llm-d's
// default and stays ringgate's: with several classes of objectives it keeps lightly
// loaded servers for the tight ones.
enum class HeadroomStrategy : uint8_t { Least, Most };

struct SloPick {
  size_t position = 0;  // in candidates
  bool met = false;     // predicted to meet every objective
};

// True when `c`'s p90 predictions meet every objective set in `slo`.
bool meets_slo(const EndpointSignals& c, const SloTargets& slo);

// No decision (nullopt) without objectives, with no candidate, or while every candidate's
// prediction is cold (no fit has kMinSamples samples: its numbers mean nothing yet).
std::optional<SloPick> pick_for_slo(std::span<const EndpointSignals> candidates, const SloTargets& slo,
                                    HeadroomStrategy strategy = HeadroomStrategy::Least);

}  // namespace ringgate::sched
