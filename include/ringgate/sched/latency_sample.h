#pragma once
// One answered request as the latency model learns from it (issue 35): the endpoint,
// the features it was SENT with (what the scheduler knew at pick time: a prediction is
// made from those, so the fit must be too) and what it took. A worker fills one per
// finished response in its own LatencySampleRing (util/spsc_ring.h: no lock, no
// allocation); the control thread drains the rings each tick into sched::LatencyModel
// (latency_model.h: its only writer).
#include <cstdint>

#include "ringgate/sched/endpoint_id.h"
#include "ringgate/sched/latency_model.h"
#include "ringgate/util/spsc_ring.h"

namespace ringgate::sched {

// A request's features at an endpoint when it was sent (the scheduler fills them for the
// endpoint it picks, PickResult::features).
struct LatencyFeatures {
  TtftFeatures ttft;
  TpotFeatures tpot;
};

struct LatencySample {
  EndpointId endpoint = kNoEndpoint;
  LatencyFeatures features;
  // Sent -> first token (ns); 0: not measured (not a stream, or no token came).
  uint64_t ttft_ns = 0;
  // Mean time per output token after the first (ns), a stream's (e2e - TTFT) / (n - 1);
  // 0: not measured (fewer than two tokens, not a stream).
  uint64_t tpot_ns = 0;
};

using LatencySampleRing = util::SpscRing<LatencySample>;

// Per worker: room for a control-thread tick's (10 ms) worth of responses many times over.
inline constexpr size_t kLatencySampleRingSize = 4096;

}  // namespace ringgate::sched
