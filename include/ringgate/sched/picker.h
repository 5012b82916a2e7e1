#pragma once
#include <cstddef>
#include <span>

#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/rng.h"

namespace ringgate::sched {

// Position (in candidates) of the highest `total`; ties (within 1e-9) go to the
// highest tie_rank, and only candidates equal on both are chosen between uniformly at
// random. candidates must not be empty.
size_t pick_max_score(std::span<const EndpointSignals> candidates, Rng& rng);

}  // namespace ringgate::sched
