// Filter "context-length" (llm-d context-length-aware with enableFiltering): only the
// servers whose range holds the prompt's length, and those that declare none. A server
// whose label does not parse is left out, as llm-d leaves it out. When no candidate is
// left, all stay (the filter seam never empties the set; llm-d would fail the request):
// the context-length scorer then ranks them by how near their ranges are.
#include "ringgate/sched/context_length_range.h"
#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/sched/filter_plugins.h"
#include "ringgate/sched/scheduler.h"

namespace ringgate::sched {

size_t filter_context_length(std::span<EndpointSignals> candidates, const FilterContext& context) {
  const uint32_t tokens = context.request.prompt_tokens;
  auto fits = [&](const EndpointSignals& c) {
    const ContextLengthRange& range = context.snapshot.scoring_view(c.index).context_range;
    return range.state == ContextRangeState::None || range.holds(tokens);
  };
  size_t kept = 0;
  for (size_t i = 0; i < candidates.size(); ++i)
    if (fits(candidates[i])) {
      if (i != kept) std::swap(candidates[kept], candidates[i]);
      ++kept;
    }
  return kept == 0 ? candidates.size() : kept;
}

}  // namespace ringgate::sched
