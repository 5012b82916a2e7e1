#pragma once
#include <chrono>
#include <cmath>
#include <cstddef>
#include <string>

#include "ringgate/sched/filter_registry.h"
#include "ringgate/sched/prefix_index.h"
#include "ringgate/sched/saturation_detector.h"
#include "ringgate/sched/scorer_registry.h"
#include "ringgate/sched/slo_pick.h"
#include "ringgate/sched/tier_weights.h"

namespace ringgate::sched {

// Where the load signal (queue score, load guard, placement gap) comes from.
//   Local: scraped waiting + this gateway's in-flight requests, min-max normalised
//     (the least loaded candidate scores 1, the most loaded 0), loads within a noise
//     band of the least scoring as the least (queue_scorer.cpp). Reacts at once to what
//     this gateway sends, but two gateway replicas count different in-flight requests
//     and a difference past the band is a full point: they disagree (perf/routing
//     agreement.mjs).
//   Shared: scraped waiting + running only (what every replica reads from the same
//     server), in coarse steps on an absolute scale: load = step x floor(raw / step),
//     queue score = 1 - min(1, load / (kSharedQueueSteps x step)); KV usage in kv_step
//     steps. Replicas scraping at the same wall-clock instants see the same picture,
//     and a difference of a request or two rarely changes a step. An endpoint without
//     fresh metrics falls back to this gateway's in-flight count (no shared picture).
enum class LoadSignal { Local, Shared };
const char* to_string(LoadSignal signal);

// Shared mode: the queue score falls from 1 to 0 over this many load steps.
inline constexpr double kSharedQueueSteps = 8;

// `value` down to a multiple of `step` (step <= 0: unchanged): the shared signal's steps.
inline double to_step(double value, double step) { return step > 0 ? std::floor(value / step) * step : value; }

struct SharedLoadConfig {
  double step = 4;        // requests a load step
  double kv_step = 0.25;  // KV-usage step (0..1)
  bool operator==(const SharedLoadConfig&) const = default;
};

// llm-d's token-load-scorer and the inflight-load-producer that feeds it.
struct TokenLoadConfig {
  // Tokens in flight at which the score reaches 0: 1 - min(1, tokens / threshold).
  // llm-d's default, 4Mi: 128 requests of 32K tokens.
  int64_t queue_threshold_tokens = 4194304;
  // The inflight-load-producer's estimate: prompt tokens plus 1.5x as many estimated
  // output tokens (llm-d's SimpleTokenEstimator); false: prompt tokens only.
  bool add_estimated_output_tokens = true;
  bool operator==(const TokenLoadConfig&) const = default;
};
// llm-d's output estimate: this many output tokens per prompt token.
inline constexpr double kEstimatedOutputRatio = 1.5;

// llm-d's active-request-scorer.
struct ActiveRequestConfig {
  int64_t idle_threshold = 0;  // at or below this many requests in flight: score 1
  double max_busy_score = 1;   // busier: (max - n) / max x this
  bool operator==(const ActiveRequestConfig&) const = default;
};

// llm-d's no-hit-lru-scorer.
struct NoHitLruConfig {
  // llm-d's LRU capacity (endpoints); ringgate stamps every endpoint, so it bounds nothing.
  int64_t lru_size = 1024;
  bool operator==(const NoHitLruConfig&) const = default;
};

// llm-d's prefix-cache-affinity-filter.
struct PrefixAffinityConfig {
  double affinity_threshold = 0.80;       // sticky: prefix score (held / prompt blocks) >= this
  double exploration_probability = 0.01;  // skip the filter with this probability
  // Stickiness breaks (every candidate kept) when the best sticky candidate's predicted
  // TTFT exceeds the best other's by more than this; 0 = always stick.
  double max_ttft_penalty_ms = 5000;
  // ringgate's own default profile (the filter runs by default there) yields to ringgate's
  // other rules: when the load guard calls every holder of the prompt overloaded, nothing
  // is sticky, so a hot prompt still spills; a request with latency objectives is not
  // filtered (the SLO-aware pick places it from predictions that count its cached prefix).
  // llm-d's filter has neither: an EndpointPickerConfig that lists it sets this false.
  bool yields = true;
  bool operator==(const PrefixAffinityConfig&) const = default;
};

struct SchedulerConfig {
  // By scorer slot (scorer_registry.h); defaults queue 2, kv-cache 2, prefix 3 (llm-d's
  // tuned defaults), the others 0 (not run).
  ScorerWeights weights = default_scorer_weights();
  // By filter slot (filter_registry.h): which filters run before the scorers.
  FilterSwitches filters = default_filter_switches();
  TokenLoadConfig token_load;
  ActiveRequestConfig active_request;
  NoHitLruConfig no_hit_lru;
  PrefixAffinityConfig prefix_affinity;
  LoadSignal load_signal = LoadSignal::Local;
  SharedLoadConfig shared_load;
  // Local signal: the queue score's noise band (queue_scorer.cpp; config
  // scheduler.loadSignal.noiseBand); false = plain min-max, as llm-d's queue-scorer.
  bool local_noise_band = true;
  // Metrics older than this are stale: their waiting-queue and KV-usage values
  // are not used for scoring (queue uses local in-flight only, KV score is a
  // neutral 0.5) and the endpoint counts as saturated for sheddable requests.
  std::chrono::steady_clock::duration stale_after = std::chrono::seconds(2);
  // Load guard: an endpoint whose load (waiting + local in-flight, or the shared
  // signal's stepped scraped load) exceeds
  // the least-loaded candidate's by more than max((factor - 1) x pool mean,
  // min_excess) loses its prefix / placement / session bonus, so a hot
  // prefix spills to other endpoints instead of queueing.
  // The gap never falls below min_excess: spilling a prefix costs its holder's
  // cache (a full prefill elsewhere), worth it only once the holder is about a
  // batch ahead (perf/routing/compare.sh: 4 spilled hot prefixes to TTFT p99 0.74x
  // round-robin, 8 kept p99 at 0.10x with the busiest server at 1.15x mean load).
  double load_guard_factor = 2.0;
  double load_guard_min_excess = 8;
  // The saturation detector (GAIE's defaults): sheddable requests are refused with
  // 429 when every candidate is saturated; with flow control, requests wait.
  SaturationConfig saturation;
  bool session_affinity = true;
  bool prefix_placement = true;  // rendezvous placement of unseen prefixes
  // The prefix scorer stands down (prefix_stand_down.h) while the index's prompt
  // roots x this prompt's cached lead fit in this share of every candidate's index
  // capacity; 0 = never (config scheduler.scorers.prefix.standDownShare).
  double prefix_stand_down_share = 0.25;
  // ...only when the rendezvous home's load is within this many requests of the
  // least-loaded candidate's (unique prompts must not turn into hash routing).
  double placement_max_gap = 1;
  // ...and, when the latency scorer runs, only when the home's predicted TTFT is within
  // this factor of the fastest candidate's: in a pool of mixed hardware a hash must not
  // send a third of the unseen prompts (and their repeats, which follow them) to the slow
  // server, whatever the latency scorer says (its weight is below the prefix's).
  double placement_max_ttft_ratio = 1.25;
  // Which server a request with latency objectives goes to among those predicted to meet
  // them (config scheduler.headroomSelectionStrategy; slo_pick.h).
  HeadroomStrategy headroom_strategy = HeadroomStrategy::Least;
  // Memory budget of the shared prefix index (config scheduler.prefixIndexMemoryBytes).
  size_t prefix_index_bytes = kDefaultPrefixIndexBytes;
  // Precise prefix scoring (scheduler.scorers.prefix.mode: precise): the prompt is
  // also hashed into vLLM's block hashes (precise_block_size tokens a block, NONE_HASH
  // from hash_seed) and endpoints whose KV-event stream is trusted are scored by the
  // leading blocks their events announced; the others by the approximate index.
  bool precise_prefix = false;
  uint32_t precise_block_size = 16;
  std::string hash_seed = "0";
  // What a held block counts for by the tier holding it (scorers.prefix.tierWeights).
  TierWeights tier_weights;
};

}  // namespace ringgate::sched
