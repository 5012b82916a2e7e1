#pragma once
// Every scorer ringgate has, one line each. The position in kScorers is the scorer's
// slot: EndpointSignals::scores[slot], ScorerWeights[slot], PickResult::step_ns[slot].
//
// Adding a scorer (CONTRIBUTING.md): write src/sched/<name>_scorer.cpp with its ScoreFn,
// declare it in scorers.h, add its line here. Its name is then a key of
// scheduler.scorers (weight 0 by default: not run), its plugin type a plugin of an
// EndpointPickerConfig and a plugin_duration_seconds series.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "ringgate/sched/scorer.h"
#include "ringgate/sched/scorers.h"

namespace ringgate::sched {

inline constexpr Scorer kScorers[] = {
    // name         llm-d plugin type              default weight (llm-d's tuned defaults)
    {"queue", "queue-scorer", 2, &score_queue},
    {"kv-cache", "kv-cache-utilization-scorer", 2, &score_kv_cache},
    {"prefix", "prefix-cache-scorer", 3, &score_prefix},
    {"latency", "latency-scorer", 0, &score_latency},
    {"lora-affinity", "lora-affinity-scorer", 0, &score_lora_affinity},
    {"token-load", "token-load-scorer", 0, &score_token_load},
    {"active-request", "active-request-scorer", 0, &score_active_request},
    {"no-hit-lru", "no-hit-lru-scorer", 0, &score_no_hit_lru},
    {"context-length", "context-length-aware", 0, &score_context_length},
};
inline constexpr size_t kScorerCount = std::size(kScorers);

// The slot of the scorer with this config key, if any.
constexpr std::optional<size_t> scorer_slot(std::string_view name) {
  for (size_t i = 0; i < kScorerCount; ++i)
    if (kScorers[i].name == name) return i;
  return std::nullopt;
}
// The slot of the scorer with this llm-d plugin type, if any.
constexpr std::optional<size_t> scorer_slot_by_plugin_type(std::string_view type) {
  for (size_t i = 0; i < kScorerCount; ++i)
    if (kScorers[i].plugin_type == type) return i;
  return std::nullopt;
}

// The prefix scorer's slot: its weight also decides whether the prefix index is looked
// up and unseen prefixes get a placement.
inline constexpr size_t kPrefixScorerSlot = *scorer_slot("prefix");
// The latency scorer's slot: its weight also keeps unseen prefixes off slow servers.
inline constexpr size_t kLatencyScorerSlot = *scorer_slot("latency");
// The no-hit-lru scorer's slot: a cold request it sees stamps the endpoint picked.
inline constexpr size_t kNoHitLruScorerSlot = *scorer_slot("no-hit-lru");

// Weights by slot; 0 = the scorer is not run.
using ScorerWeights = std::array<double, kScorerCount>;
constexpr ScorerWeights default_scorer_weights() {
  ScorerWeights w{};
  for (size_t i = 0; i < kScorerCount; ++i) w[i] = kScorers[i].default_weight;
  return w;
}
// The weight of the scorer with this config key (0 for a key that is no scorer).
constexpr double weight_of(const ScorerWeights& weights, std::string_view name) {
  const auto slot = scorer_slot(name);
  return slot ? weights[*slot] : 0.0;
}
// The config keys, in slot order (the schema of scheduler.scorers).
constexpr std::array<std::string_view, kScorerCount> scorer_names() {
  std::array<std::string_view, kScorerCount> names{};
  for (size_t i = 0; i < kScorerCount; ++i) names[i] = kScorers[i].name;
  return names;
}

// "queue, kv-cache, prefix" (error messages).
std::string known_scorer_names();
// The plugin types, "queue-scorer, ..." (error messages).
std::string known_scorer_plugin_types();

}  // namespace ringgate::sched
