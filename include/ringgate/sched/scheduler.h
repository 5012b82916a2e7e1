#pragma once
// The per-request endpoint picker: filters -> scorers -> picker.
//
// One Scheduler per worker thread (it owns scratch buffers); all of them share
// one PrefixIndex and one InflightCounters. pick() does not allocate except
// when a snapshot is larger than any seen before (scratch growth), takes no
// lock besides the prefix index's shard mutexes (one per probe, ~log2(blocks)
// probes per prefix holder), and is deterministic given the snapshot, the
// shared counters/index and the Rng.
//
// Decision order:
//   1. candidates: routable endpoints serving the model/adapter, minus exclude; the filters
//      of what a server can serve (the context-length filter) narrow them;
//   2. signals: load = waiting (fresh metrics only) + in-flight, or with the shared
//      load signal scraped waiting + running in coarse steps (scheduler_config.h); KV usage;
//      prefix blocks held (index, binary search);
//   3. load guard marks endpoints far above the mean load;
//   4. session affinity: if a session id is given, its rendezvous endpoint
//      wins outright unless overloaded;
//   5. an unseen prefix (no candidate holds block 0) gets a placement bonus
//      (prefix score 1) on the rendezvous endpoint of its first block, when that
//      endpoint is about as idle as the idlest (placement_max_gap; with the latency
//      scorer, not predicted much slower than the fastest); one of several gateway
//      replicas whose index holds only what it routed (the snapshot's
//      prefix_index_shared false) sends it there outright unless overloaded, and a chat
//      by its root's rendezvous endpoint instead;
//   6. the scorers of non-zero weight (scorer_registry.h) each score every candidate;
//      weighted sum, max wins; ties go to the
//      rendezvous winner of the prompt's last prefix hash (the same in every replica;
//      random only for a prompt shorter than one block);
//      behind the prefix-cache-affinity filter the prefix scorer stands down while the
//      pool's prompt roots are cheap to hold twice (prefix_stand_down.h);
//   6b. a request with latency objectives (PickRequest::slo) is placed by the SLO-aware
//      pick instead (slo_pick.h: predicted to meet them with the least headroom, else the
//      fastest), from the latency model's predictions (latency_prediction.h);
//   6c. under flow control a sheddable request that no candidate is predicted to serve
//      within its objectives, and none is idle, is shed (SloUnattainable);
//   7. sheddable requests are refused when every candidate is saturated;
//      with flow control (hold_when_saturated) saturated candidates are left out
//      before scoring and a request with none left is held.

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ringgate/sched/endpoint_signals.h"
#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/sched/exact_block_index.h"
#include "ringgate/sched/latency_sample.h"
#include "ringgate/sched/prefix_index.h"
#include "ringgate/sched/rng.h"
#include "ringgate/sched/scheduler_config.h"
#include "ringgate/sched/slo_targets.h"

namespace ringgate::sched {

class InflightCounters;

struct PickRequest {
  std::string_view model;                   // target (after rewrite): base model or adapter
  std::span<const uint64_t> prefix_hashes;  // PrefixHasher output; may be empty
  // Leading whole blocks of the prompt's root: a chat's messages through its first user
  // message, the same in every turn of a conversation (0: none). One of several gateway
  // replicas places a prompt whose root it has not seen by the root (Scheduler::pick).
  size_t root_blocks = 0;
  // Precise mode: the prompt's vLLM block hashes (empty: approximate only).
  std::span<const uint64_t> precise_hashes;
  // Blocks the whole prompt would hash to, when precise_hashes are only its lead (every
  // server's match ends within them); 0: precise_hashes are the whole prompt's.
  size_t precise_total_blocks = 0;
  std::string_view session_id;              // x-session-id; empty = none
  bool sheddable = false;
  // Flow control: never send to a saturated endpoint; when every candidate is
  // saturated, answer `saturated` (the request waits in the gateway).
  bool hold_when_saturated = false;
  const SaturationConfig* saturation = nullptr;  // null = the scheduler's config
  Clock::time_point now{};                       // decision time (staleness)
  std::span<const EndpointId> exclude;           // endpoints already tried (retries)
  // The decode leg (or a whole request) goes to decode and both pods; the prefill leg
  // of a split request to prefill and both pods.
  PickLeg leg = PickLeg::Decode;
  // Prompt tokens a prefix block stands for (the latency model's uncached prompt tokens:
  // the router's block bytes / 4, ringgate-sim's and llm-d's 4 bytes a token).
  double tokens_per_block = 16;
  // The request's latency objectives (llm-d's SLO headers); none: scores decide.
  SloTargets slo;
  // The prompt's length in tokens (llm-d's token count: the tokenizer's, else 4 bytes of
  // prompt text a token, rounded up); 0: unknown. The context-length scorer and filter read it.
  uint32_t prompt_tokens = 0;
};

enum class PickStatus {
  Ok,
  UnknownModel,  // no endpoint serves the model -> 404
  NoneRoutable,  // served, but no routable endpoint -> 503
  AllExcluded,   // every candidate already tried -> 502 (retries exhausted)
  Saturated,     // sheddable (or held) and every candidate saturated -> 429 / wait
  // Flow control: a sheddable request whose latency objectives no candidate is predicted
  // to meet, none of them idle (llm-d's latency admitter) -> 429, shed before it takes a
  // server's time for an answer that will come too late.
  SloUnattainable,
};
const char* to_string(PickStatus status);

// Response: pinned to the server holding the Responses API response the request names
// (proxy::ResponseAffinity), decided before the scheduler.
enum class PickReason { None, Score, Session, PrefixPlacement, Slo, Response };

// The scheduler's steps under the names GAIE's / llm-d's plugins have, for
// plugin_duration_seconds{extension_point, plugin_type, plugin_name}: every scorer of
// kScorers (in slot order), then the picker. The prefix scorer's time includes its index
// lookup, as GAIE's prefix plugin scores by looking up.
struct PluginStep {
  std::string_view extension_point;
  std::string_view type;
};
inline constexpr size_t kPluginStepCount = kScorerCount + 1;
inline constexpr size_t kPickerStep = kScorerCount;
inline constexpr std::array<PluginStep, kPluginStepCount> kPluginSteps = [] {
  std::array<PluginStep, kPluginStepCount> steps{};
  for (size_t i = 0; i < kScorerCount; ++i) steps[i] = {"Scorer", kScorers[i].plugin_type};
  steps[kPickerStep] = {"Picker", "max-score-picker"};
  return steps;
}();

struct PickResult {
  PickStatus status = PickStatus::UnknownModel;
  EndpointId endpoint = kNoEndpoint;
  uint32_t index = 0;  // into snapshot.endpoints()
  PickReason reason = PickReason::None;
  uint32_t matched_blocks = 0;  // leading blocks the chosen endpoint held
  uint32_t total_blocks = 0;    // blocks in the request
  // Nanoseconds each of kPluginSteps took; scored = the steps ran (a session-affinity
  // or refused decision returns before scoring). A scorer of weight 0 does not run:
  // its step_ns stays 0 and step_ran(i) false.
  std::array<uint32_t, kPluginStepCount> step_ns{};
  std::array<bool, kPluginStepCount> step_ran{};
  bool scored = false;
  // The request's latency features at the chosen endpoint (what it is sent with: the
  // latency model learns from them when the answer comes, latency_sample.h).
  LatencyFeatures features;
  // An SLO-aware pick (reason Slo): whether the chosen one is predicted to meet them.
  bool slo_met = false;
  bool prefix_stood_down = false;  // the prefix scorer stood down (prefix_stand_down.h)
  // Locality: the best priority level among the candidates serving the model; the chosen
  // endpoint's above it is an overflow (every endpoint of the better levels was saturated).
  uint32_t best_priority = 0;
  double predicted_ttft_ms = 0, predicted_tpot_ms = 0;  // of the chosen one, when predicted
  // Per-decision prefix hit ratio (matched / total, 0 when no blocks).
  double prefix_hit_ratio() const { return total_blocks ? double(matched_blocks) / total_blocks : 0.0; }
  bool ok() const { return status == PickStatus::Ok; }
};

class Scheduler {
 public:
  // `exact`: the KV-event block index precise mode reads (null: approximate only).
  Scheduler(SchedulerConfig config, PrefixIndex& index, InflightCounters& inflight,
            const ExactBlockIndex* exact = nullptr);

  PickResult pick(const EndpointSnapshot& snapshot, const PickRequest& request, Rng& rng);

  // After the request was sent to `endpoint`: remember its prefix.
  void on_routed(EndpointId endpoint, std::span<const uint64_t> prefix_hashes);

  // The signals and scores of every candidate in the last pick() (for
  // /debug/endpoints "why" views and tests). Valid until the next pick().
  std::span<const EndpointSignals> last_candidates() const { return {signals_.data(), candidate_count_}; }
  // The same, followed by the candidates the filters took out (not scored), for /debug/pick.
  std::span<const EndpointSignals> last_gathered() const { return {signals_.data(), candidate_count_ + filtered_out_}; }

  const SchedulerConfig& config() const { return config_; }

 private:
  SchedulerConfig config_;
  PrefixIndex& index_;
  InflightCounters& inflight_;
  const ExactBlockIndex* exact_ = nullptr;
  std::vector<EndpointSignals> signals_;
  std::vector<PrefixMatch> matches_;
  std::vector<int32_t> position_by_id_;  // endpoint id -> position in signals_, -1
  size_t candidate_count_ = 0;
  size_t filtered_out_ = 0;  // behind the candidates in signals_
};

}  // namespace ringgate::sched
