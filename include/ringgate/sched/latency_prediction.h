#pragma once
// What the latency model says of each candidate of one decision (issue 35): the features
// the request would be sent with at that endpoint and the TTFT / TPOT predicted from the
// coefficients the snapshot carries (LatencyCoefficients, copied there by the control
// thread). Pure functions of the candidate's signals: no allocation, ~30 ns a candidate.
#include <cstdint>
#include <span>

#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/sched/latency_sample.h"

namespace ringgate::sched {

// The request at candidate `c`: its uncached prompt tokens there ((total_blocks - the
// blocks `c` holds) x tokens_per_block), its slot waits, and the prefill tokens the
// gateway replicas have in flight there (TPOT's batched tokens: one a running sequence
// plus those prefill tokens, what the engine's next steps will carry).
// Slot waits: how many sequences must end there before this one can run. The requests
// there (the replicas' in flight, or the scraped waiting + running if more: clients
// that bypass the gateway) plus this one, beyond the server's slots (EndpointState::
// slots); the scraped waiting while the slots are not known (the server has not queued
// yet). Not floored by the scraped waiting (a queue its KV cache makes below the slots):
// a scrape's waiting is up to a poll old, and with that floor the latency scorer's TTFT
// p99 on slo.sh's pool went from 476 / 568 / 328 ms to 738 / 814 / 638 ms.
LatencyFeatures latency_features(const EndpointSignals& c, uint32_t total_blocks, double tokens_per_block);

// Fills predicted_ttft_ms / predicted_tpot_ms, their p90s and latency_cold of every candidate not yet
// predicted in this decision (latency_predicted).
void predict_latency(std::span<EndpointSignals> candidates, const EndpointSnapshot& snapshot, uint32_t total_blocks,
                     double tokens_per_block);

// Whether candidate `pos` is predicted (predict_latency first) at most `ratio` times the
// fastest candidate's TTFT; true while every prediction is cold (nothing is known).
bool near_fastest(std::span<const EndpointSignals> candidates, size_t pos, double ratio);

}  // namespace ringgate::sched
