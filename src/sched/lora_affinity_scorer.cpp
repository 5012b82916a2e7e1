// Scorer "lora-affinity" (llm-d lora-affinity-scorer, Beta): send an adapter's requests
// where the adapter is loaded, so a server with few LoRA slots (--max-loras) does not swap
// adapters in and out. llm-d's scores, from vllm:lora_requests_info as last scraped:
//   1.0  the adapter has running requests there;
//   0.8  it does not, but running + waiting adapters < max_lora (a slot is free);
//   0.6  it has waiting requests there (queued for a slot);
//   0.0  no room: every slot is taken by other adapters.
// Unlike llm-d, a request for a base model scores 1 everywhere (llm-d scores it as an
// adapter that is nowhere, which only adds noise), and a server whose LoRA state is not
// known (no lora_requests_info, stale metrics, max_lora not given) scores 0.8, as if a
// slot were free: unknown is neither preferred nor shunned.
#include <algorithm>

#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/sched/scheduler.h"
#include "ringgate/sched/scorers.h"

namespace ringgate::sched {

namespace {

inline constexpr double kLoaded = 1.0, kSlotFree = 0.8, kWaiting = 0.6, kNoRoom = 0.0;

double lora_affinity(const EndpointState& e, bool fresh, std::string_view target) {
  if (std::find(e.models.begin(), e.models.end(), target) != e.models.end()) return kLoaded;  // a base model
  const EndpointLoras& loras = e.loras;
  if (!fresh || !loras.reported || loras.max_lora == 0) return kSlotFree;  // unknown
  if (loras.is_running(target)) return kLoaded;
  if (loras.running.size() + loras.waiting.size() < loras.max_lora) return kSlotFree;
  if (loras.is_waiting(target)) return kWaiting;
  return kNoRoom;
}

}  // namespace

void score_lora_affinity(std::span<EndpointSignals> candidates, const ScoreContext& context) {
  for (EndpointSignals& c : candidates)
    c.scores[context.slot] = lora_affinity(context.snapshot.at(c.index), c.fresh, context.request.model);
}

}  // namespace ringgate::sched
