#pragma once
// The filters, one file each (src/sched/<name>_filter.cpp). Listed in filter_registry.h.

#include <span>

#include "ringgate/sched/filter.h"

namespace ringgate::sched {

// llm-d's prefix-cache-affinity-filter: keeps the candidates whose prefix score (leading
// blocks held / prompt blocks) reaches affinity_threshold, unless none does, the
// exploration draw skips it, or the best of them is predicted to answer its first token
// more than max_ttft_penalty_ms later than the best other (prefix_cache_affinity_filter.cpp).
size_t filter_prefix_cache_affinity(std::span<EndpointSignals> candidates, const FilterContext& context);
// llm-d's context-length-aware with enableFiltering: keeps the candidates whose
// context-length range holds the request's prompt_tokens and those without a range
// (context_length_filter.cpp); all of them when none does.
size_t filter_context_length(std::span<EndpointSignals> candidates, const FilterContext& context);

}  // namespace ringgate::sched
