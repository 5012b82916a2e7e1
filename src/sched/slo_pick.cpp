#include "ringgate/sched/slo_pick.h"

#include <algorithm>
#include <cmath>

namespace ringgate::sched {
namespace {

constexpr double kParkSlack = 4;

// The smaller relative headroom over the objectives set (>= 0 when met).
double headroom(const EndpointSignals& c, const SloTargets& slo) {
  double h = INFINITY;
  if (slo.ttft_ms > 0) h = std::min(h, (slo.ttft_ms - c.predicted_ttft_p90_ms) / slo.ttft_ms);
  if (slo.tpot_ms > 0) h = std::min(h, (slo.tpot_ms - c.predicted_tpot_p90_ms) / slo.tpot_ms);
  return h;
}

// Equal keys (within 1e-9) are decided by the score total, then tie_rank.
bool better_tie(const EndpointSignals& a, const EndpointSignals& b) {
  if (std::fabs(a.total - b.total) > 1e-9) return a.total > b.total;
  return a.tie_rank > b.tie_rank;
}

}  // namespace

bool meets_slo(const EndpointSignals& c, const SloTargets& slo) {
  return (slo.ttft_ms <= 0 || c.predicted_ttft_p90_ms <= slo.ttft_ms) &&
         (slo.tpot_ms <= 0 || c.predicted_tpot_p90_ms <= slo.tpot_ms);
}

std::optional<SloPick> pick_for_slo(std::span<const EndpointSignals> candidates, const SloTargets& slo,
                                    HeadroomStrategy strategy) {
  if (!slo.any() || candidates.empty()) return std::nullopt;
  if (std::all_of(candidates.begin(), candidates.end(), [](const EndpointSignals& c) { return c.latency_cold; }))
    return std::nullopt;
  // The least (or most) headroom among those predicted to meet every objective: the
  // key is the headroom, negated for Most, and the smallest key wins.
  const double sign = strategy == HeadroomStrategy::Most ? -1 : 1;
  std::optional<size_t> best;
  double best_key = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const EndpointSignals& c = candidates[i];
    if (!meets_slo(c, slo)) continue;
    const double key = sign * headroom(c, slo);
    if (!best || key < best_key - 1e-9 || (std::fabs(key - best_key) <= 1e-9 && better_tie(c, candidates[*best]))) {
      best = i;
      best_key = key;
    }
  }
  if (best) return SloPick{*best, true};
  // None. A server predicted to miss the TPOT objective cannot meet it by waiting (its
  // decode is too slow, not its queue too long): the request, which nobody serves in time
  // now, is parked on the fastest of those, and the servers that can meet the objectives
  // stay free for requests that still can (attainment: issue 35's "parked on a slow
  // server"). Not where it would wait for its first token past both its TTFT objective
  // and kParkSlack x the fastest server's predicted TTFT (a server slowed 10x, a stalled
  // one: seconds of waiting for nothing). Without such a server, the fastest of all, by
  // the objective's own measure (TTFT when one is set).
  const bool by_ttft = slo.ttft_ms > 0;
  double fastest_ttft = INFINITY;
  for (const EndpointSignals& c : candidates) fastest_ttft = std::min(fastest_ttft, c.predicted_ttft_ms);
  const double park_ttft = std::max(slo.ttft_ms, kParkSlack * fastest_ttft);
  const auto too_slow = [&](const EndpointSignals& c) {
    return slo.tpot_ms > 0 && c.predicted_tpot_ms > slo.tpot_ms && c.predicted_ttft_ms <= park_ttft;
  };
  const bool park = std::any_of(candidates.begin(), candidates.end(), too_slow);
  std::optional<size_t> fastest;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const EndpointSignals& c = candidates[i];
    if (park && !too_slow(c)) continue;
    if (!fastest) {
      fastest = i;
      continue;
    }
    const EndpointSignals& was = candidates[*fastest];
    const double key = by_ttft ? c.predicted_ttft_ms : c.predicted_tpot_ms;
    const double was_key = by_ttft ? was.predicted_ttft_ms : was.predicted_tpot_ms;
    if (key < was_key - 1e-9 || (std::fabs(key - was_key) <= 1e-9 && better_tie(c, was))) fastest = i;
  }
  return SloPick{*fastest, false};
}

}  // namespace ringgate::sched
