// Filter "prefix-cache-affinity" (llm-d prefix-cache-affinity-filter): stay on the servers
// that already hold most of the prompt, until waiting there costs more than a prefill
// elsewhere.
#include <algorithm>
#include <limits>

#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/filter_plugins.h"
#include "ringgate/sched/latency_prediction.h"
#include "ringgate/sched/rng.h"
#include "ringgate/sched/scheduler.h"
#include "ringgate/sched/scheduler_config.h"

namespace ringgate::sched {

size_t filter_prefix_cache_affinity(std::span<EndpointSignals> candidates, const FilterContext& context) {
  const PrefixAffinityConfig& config = context.config.prefix_affinity;
  const size_t n = candidates.size();
  if (n <= 1 || config.affinity_threshold <= 0 || context.total_blocks == 0) return n;
  if (config.yields && context.request.slo.any()) return n;
  // llm-d draws rand.Float64() < p: 53 random bits as a fraction of 1.
  if (config.exploration_probability > 0 &&
      double(context.rng.next() >> 11) * 0x1.0p-53 < config.exploration_probability)
    return n;
  const double total = double(context.total_blocks);
  auto sticky = [&](const EndpointSignals& c) { return double(c.prefix_blocks) / total >= config.affinity_threshold; };
  const size_t sticky_count = size_t(std::count_if(candidates.begin(), candidates.end(), sticky));
  if (sticky_count == 0) return n;
  // Yielding to the load guard: only when every holder is overloaded does the prompt spill to
  // the others (the scorers then decide, as before this filter). Narrowing to the holders it
  // does not call overloaded herded a hot prompt onto one of them at a time (TTFT p90 204 ms
  // against 50 this way on perf/routing/baseline.mjs's workload A at 160 req/s).
  if (config.yields && std::all_of(candidates.begin(), candidates.end(),
                                   [&](const EndpointSignals& c) { return !sticky(c) || c.overloaded; }))
    return n;
  if (config.max_ttft_penalty_ms > 0 && sticky_count < n) {
    // The TTFT gate reads the latency model; with nothing learnt yet (every prediction
    // cold) it is skipped, as llm-d skips it without predictions.
    predict_latency(candidates, context.snapshot, context.total_blocks, context.request.tokens_per_block);
    const bool known = std::any_of(candidates.begin(), candidates.end(),
                                   [](const EndpointSignals& c) { return !c.latency_cold; });
    if (known) {
      double best_sticky = std::numeric_limits<double>::max(), best_other = std::numeric_limits<double>::max();
      for (const EndpointSignals& c : candidates) {
        double& best = sticky(c) ? best_sticky : best_other;
        best = std::min(best, c.predicted_ttft_ms);
      }
      if (best_sticky - best_other > config.max_ttft_penalty_ms) return n;
    }
  }
  // The sticky ones to the front, in their order (std::stable_partition may allocate).
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i)
    if (sticky(candidates[i])) {
      if (i != kept) std::swap(candidates[kept], candidates[i]);
      ++kept;
    }
  return kept;
}

}  // namespace ringgate::sched
