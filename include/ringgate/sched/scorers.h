#pragma once
// The scorers, one file each (src/sched/<name>_scorer.cpp); each writes a score in [0,1]
// into every candidate's scores[context.slot]. Listed in scorer_registry.h.

#include <span>

#include "ringgate/sched/scorer.h"

namespace ringgate::sched {

// Load (waiting + in-flight). Local load signal: min-max past a noise band,
// 1 - (q - minQ - band) / (maxQ - minQ - band), 1 within the band; band = sqrt(mean q)
// while no candidate has scraped waiting requests and some holds a block of the prompt,
// else 0 (and 0 with local_noise_band off): plain (maxQ - q) / (maxQ - minQ).
// Shared: 1 - load / (kSharedQueueSteps x step) clamped to [0,1], an absolute
// scale, so a candidate's score does not depend on the others'.
void score_queue(std::span<EndpointSignals> candidates, const ScoreContext& context);
// 1 - kv_usage when fresh (down to a multiple of the shared signal's kv_step), 0.5
// (unknown) when stale.
void score_kv_cache(std::span<EndpointSignals> candidates, const ScoreContext& context);
// prefix_blocks / total_blocks; 1 for the placement endpoint; 0 when overloaded (load
// guard) or when total_blocks is 0.
void score_prefix(std::span<EndpointSignals> candidates, const ScoreContext& context);
// Predicted TTFT (the latency model's coefficients in the snapshot): (slowest - t) /
// (slowest - fastest) over the candidates, 1 for all when equal or while the model is cold.
void score_latency(std::span<EndpointSignals> candidates, const ScoreContext& context);
// The request's LoRA adapter: 1 where it runs, 0.8 where a slot is free, 0.6 where it
// waits, 0 where there is no room (llm-d's scores; lora_affinity_scorer.cpp); 1 for a
// base model everywhere.
void score_lora_affinity(std::span<EndpointSignals> candidates, const ScoreContext& context);

// Tokens in flight there (EndpointSignals::inflight_tokens): 1 - min(1, tokens /
// queue_threshold_tokens), an absolute scale (llm-d's token-load-scorer).
void score_token_load(std::span<EndpointSignals> candidates, const ScoreContext& context);
// Requests in flight: 1 at or below idle_threshold, else (max - n) / max x max_busy_score
// (llm-d's active-request-scorer).
void score_active_request(std::span<EndpointSignals> candidates, const ScoreContext& context);
// A cold request (no candidate holds a block of it): least recently sent a cold request
// scores highest, 1 - rank / (n - 1); a warm one 0.5 everywhere (llm-d's no-hit-lru-scorer).
void score_no_hit_lru(std::span<EndpointSignals> candidates, const ScoreContext& context);
// No candidate holds a block of the prompt (no-hit-lru's cold request).
bool is_cold_request(std::span<const EndpointSignals> candidates);

// The prompt's length (PickRequest::prompt_tokens) against the endpoint's context-length
// range (llm-d's context-length-aware, its numbers): in range (0.3, 1], tighter ranges and
// more room left higher; out of range [0, 0.3), nearer higher; no range 0.5; a range that
// did not parse 0.
void score_context_length(std::span<EndpointSignals> candidates, const ScoreContext& context);
struct ContextLengthRange;
double context_length_score(uint32_t tokens, const ContextLengthRange& range);

}  // namespace ringgate::sched
