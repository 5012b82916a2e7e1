#include "ringgate/sched/scheduler.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>

#include "ringgate/sched/filters.h"
#include "ringgate/sched/inflight_counters.h"
#include "ringgate/sched/latency_prediction.h"
#include "ringgate/sched/load_guard.h"
#include "ringgate/sched/picker.h"
#include "ringgate/sched/prefix_hasher.h"
#include "ringgate/sched/prefix_index.h"
#include "ringgate/sched/prefix_stand_down.h"
#include "ringgate/sched/rendezvous.h"
#include "ringgate/sched/saturation_detector.h"
#include "ringgate/sched/scorer_registry.h"
#include "ringgate/sched/slo_pick.h"

namespace ringgate::sched {
namespace {

// Rendezvous winner among the candidates (position in `candidates`).
size_t rendezvous_position(const EndpointSnapshot& snapshot, std::span<const EndpointSignals> candidates,
                           uint64_t key) {
  size_t best = 0;
  uint64_t best_weight = 0, best_address = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    uint64_t address = snapshot.scoring_view(candidates[i].index).address_hash;
    uint64_t w = rendezvous_weight(key, address);
    if (i == 0 || w > best_weight || (w == best_weight && address < best_address)) {
      best = i;
      best_weight = w;
      best_address = address;
    }
  }
  return best;
}

}  // namespace

const char* to_string(LoadSignal signal) { return signal == LoadSignal::Shared ? "shared" : "local"; }

const char* to_string(PickStatus status) {
  switch (status) {
    case PickStatus::Ok:
      return "ok";
    case PickStatus::UnknownModel:
      return "no endpoint serves the model";
    case PickStatus::NoneRoutable:
      return "no routable endpoint serves the model";
    case PickStatus::AllExcluded:
      return "every endpoint serving the model has already failed this request";
    case PickStatus::SloUnattainable:
      return "no endpoint serving the model is predicted to meet the request's latency objectives";
    case PickStatus::Saturated:
      return "every endpoint serving the model is saturated";
  }
  return "unknown";
}

Scheduler::Scheduler(SchedulerConfig config, PrefixIndex& index, InflightCounters& inflight,
                     const ExactBlockIndex* exact)
    : config_(config), index_(index), inflight_(inflight), exact_(exact) {}

PickResult Scheduler::pick(const EndpointSnapshot& snapshot, const PickRequest& request, Rng& rng) {
  PickResult result;
  candidate_count_ = 0;
  filtered_out_ = 0;
  // Scratch grows only when the pool is larger than ever before.
  if (signals_.size() < snapshot.size()) signals_.resize(snapshot.size());
  size_t match_room = std::max<size_t>(64, snapshot.size() * 2);
  if (matches_.size() < match_room) matches_.resize(match_room);
  if (position_by_id_.size() < snapshot.id_limit()) position_by_id_.resize(snapshot.id_limit(), -1);

  size_t count = 0;
  CandidateStatus status = filter_candidates(snapshot, request.model, request.exclude, inflight_, request.now, config_,
                                             std::span<EndpointSignals>(signals_), count, request.leg);
  switch (status) {
    case CandidateStatus::Ok:
      break;
    case CandidateStatus::UnknownModel:
      result.status = PickStatus::UnknownModel;
      return result;
    case CandidateStatus::NoneRoutable:
      result.status = PickStatus::NoneRoutable;
      return result;
    case CandidateStatus::AllExcluded:
      result.status = PickStatus::AllExcluded;
      return result;
  }
  candidate_count_ = count;
  std::span<EndpointSignals> candidates(signals_.data(), count);
  const Clock::time_point lookup_started = Clock::now();

  const SaturationConfig& saturation = request.saturation ? *request.saturation : config_.saturation;
  if (request.hold_when_saturated) {
    // Only unsaturated endpoints stay candidates (in their order).
    size_t kept = 0;
    for (size_t i = 0; i < count; ++i)
      if (!endpoint_saturated(candidates[i], saturation, request.sheddable)) candidates[kept++] = candidates[i];
    if (kept == 0) {
      result.status = PickStatus::Saturated;
      return result;
    }
    count = kept;
    candidate_count_ = count;
    candidates = std::span<EndpointSignals>(signals_.data(), count);
  } else if (request.sheddable && std::all_of(candidates.begin(), candidates.end(), [&](const EndpointSignals& s) {
               return endpoint_saturated(s, saturation, true);
             })) {
    result.status = PickStatus::Saturated;
    return result;
  }

  // Locality (a static entry's `priority`): the candidates of the lowest level that has an
  // unsaturated one, as Envoy's priority levels; every level saturated: all of them (the
  // load then spreads over every cluster rather than queueing in the local one).
  {
    uint32_t best = UINT32_MAX, worst = 0, open = UINT32_MAX;  // candidates: at least one
    for (const EndpointSignals& c : candidates) {
      const uint32_t p = snapshot.scoring_view(c.index).priority;
      best = std::min(best, p);
      worst = std::max(worst, p);
      if (p < open && !endpoint_saturated(c, saturation, request.sheddable)) open = p;
    }
    if (best != worst && open != UINT32_MAX) {
      size_t kept = 0;
      for (size_t i = 0; i < count; ++i)
        if (snapshot.scoring_view(candidates[i].index).priority == open) candidates[kept++] = candidates[i];
      filtered_out_ += count - kept;
      count = kept;
      candidate_count_ = count;
      candidates = std::span<EndpointSignals>(signals_.data(), count);
    }
    result.best_priority = best;
  }
  // Hashes are entries (sampled past kDensePrefixBlocks): scores and results count blocks.
  uint32_t total_blocks = uint32_t(std::min<size_t>(covered_blocks(request.prefix_hashes.size()), UINT32_MAX));
  result.total_blocks = total_blocks;
  // The filters (filter_registry.h), in slot order, narrow the candidates the scorers see:
  // those of what a server can serve (before_affinity) now, before a key decides, the
  // others after prefix placement.
  const FilterContext filter_context{snapshot, request, config_, total_blocks, rng};
  auto run_filters = [&](bool before_affinity) {
    for (size_t slot = 0; slot < kFilterCount; ++slot) {
      if (!config_.filters[slot] || kFilters[slot].before_affinity != before_affinity) continue;
      const size_t kept = kFilters[slot].filter(candidates, filter_context);
      if (kept == 0 || kept > count) continue;  // a filter never empties the set
      filtered_out_ += count - kept;
      count = kept;
      candidate_count_ = count;
      candidates = std::span<EndpointSignals>(signals_.data(), count);
    }
  };
  run_filters(true);
  bool any_match = false;
  // The prefix-cache-affinity filter reads the same matches as the prefix scorer.
  const bool wants_matches =
      config_.weights[kPrefixScorerSlot] != 0 || config_.weights[kNoHitLruScorerSlot] != 0 ||
      config_.filters[kPrefixAffinityFilterSlot];
  if (total_blocks > 0 && wants_matches) {
    for (size_t i = 0; i < count; ++i) position_by_id_[candidates[i].id] = int32_t(i);
    size_t n = index_.longest_matches(request.prefix_hashes, std::span<PrefixMatch>(matches_));
    for (size_t m = 0; m < n; ++m) {
      EndpointId id = matches_[m].endpoint;
      if (id >= position_by_id_.size() || position_by_id_[id] < 0) continue;  // not a candidate
      candidates[size_t(position_by_id_[id])].prefix_blocks =
          uint32_t(std::min<size_t>(covered_blocks(matches_[m].blocks), UINT32_MAX));
      any_match = true;
    }
    for (size_t i = 0; i < count; ++i) position_by_id_[candidates[i].id] = -1;
    if (exact_ != nullptr && !request.precise_hashes.empty()) {
      // Endpoints with a trusted event stream: the leading blocks they really hold,
      // in the approximate index's units (the score is a fraction of the prompt).
      // Each held block counts at its best tier's weight (tierWeights), as llm-d's
      // precise scorer sums them over the matched run and divides by the prompt's
      // blocks: a prompt held wholly in CPU memory scores 0.8 of one held in HBM, and
      // what follows from the match (the affinity filter, the predicted TTFT) sees
      // the same weighted run.
      const double precise_total = double(std::max(request.precise_hashes.size(), request.precise_total_blocks));
      for (EndpointSignals& c : candidates) {
        const LeadingMatch held = exact_->leading_match(c.id, request.precise_hashes);
        if (held.blocks < 0) continue;  // not precise: keeps its approximate match
        c.prefix_blocks = uint32_t(std::llround(held.weighted / precise_total * double(total_blocks)));
        if (held.weighted > 0 && c.prefix_blocks == 0) c.prefix_blocks = 1;
      }
      any_match = std::any_of(candidates.begin(), candidates.end(),
                              [](const EndpointSignals& c) { return c.prefix_blocks > 0; });
    }
  }

  if (any_match && config_.prefix_stand_down_share > 0 && config_.weights[kPrefixScorerSlot] != 0 &&
      config_.filters[kPrefixAffinityFilterSlot])
    result.prefix_stood_down =
        prefix_stands_down(candidates, index_, request.root_blocks, config_.prefix_stand_down_share);
  const Clock::time_point lookup_done = Clock::now();
  apply_load_guard(candidates, config_);
  // A pick decided by a key before any score (the same in every replica).
  auto decided = [&](size_t pos, PickReason reason) {
    result.status = PickStatus::Ok;
    result.endpoint = candidates[pos].id;
    result.index = candidates[pos].index;
    result.reason = reason;
    result.matched_blocks = candidates[pos].prefix_blocks;
    result.features = latency_features(candidates[pos], total_blocks, request.tokens_per_block);
    return result;
  };

  if (config_.session_affinity && !request.session_id.empty()) {
    uint64_t key = XXH3_64bits(request.session_id.data(), request.session_id.size());
    size_t pos = rendezvous_position(snapshot, candidates, key);
    if (!candidates[pos].overloaded) return decided(pos, PickReason::Session);
  }

  // An unseen prompt goes to its rendezvous home, keyed by its first block (which names a
  // system prompt). One of several replicas whose index holds only what it routed itself
  // (their placements not exchanged: Redis away) cannot tell: the prompt may well be
  // placed already, at its home, by another replica, and a conversation's turns routed by
  // the others are not in its index. So such a replica sends an unseen prompt home unless
  // the load guard calls it overloaded, and a chat, every turn, to the home of its root
  // (the messages through the first user one), so that the replicas agree
  // (perf/routing/README.md, "Gateway replicas": a load-driven first pick or a partial
  // index left prompts and conversations on several servers). With the placements
  // exchanged, the index is everyone's and the replicas pick like one.
  const bool partial_index = snapshot.gateway_replicas() > 1 && !snapshot.prefix_index_shared();
  size_t key_entries = 1;
  if (partial_index && request.root_blocks > 0)
    key_entries = std::clamp<size_t>(entries_for_blocks(request.root_blocks), 1, request.prefix_hashes.size());
  const bool place = key_entries > 1 || !any_match;
  if (total_blocks > 0 && place && config_.prefix_placement && config_.weights[kPrefixScorerSlot] != 0) {
    // Alone, an unseen prompt may never come again: its home gets the bonus only when it
    // is about as idle as the idlest candidate, else load decides. Either way the index
    // remembers where it went, so a repeat follows it.
    size_t pos = rendezvous_position(snapshot, candidates, request.prefix_hashes[key_entries - 1]);
    double least = candidates[0].load;
    for (size_t i = 1; i < count; ++i) least = std::min(least, candidates[i].load);
    bool home =
        !candidates[pos].overloaded && (partial_index || candidates[pos].load - least <= config_.placement_max_gap);
    if (home && config_.weights[kLatencyScorerSlot] != 0) {
      predict_latency(candidates, snapshot, total_blocks, request.tokens_per_block);
      home = near_fastest(candidates, pos, config_.placement_max_ttft_ratio);
    }
    // With a partial index, home is decided here, not by a bonus among the scores: the
    // servers holding the system prompt (and this replica's own load) would outscore it now
    // and then, each replica differently. Latency objectives still go to the SLO-aware pick.
    if (home && partial_index && !request.slo.any()) return decided(pos, PickReason::PrefixPlacement);
    if (home) candidates[pos].placement = true;
  }

  run_filters(false);
  // no-hit-lru: a request cold to every candidate (before the filters: to them all).
  const bool cold = config_.weights[kNoHitLruScorerSlot] != 0 && !any_match;

  auto ns = [](Clock::duration d) {
    return uint32_t(std::min<int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(), UINT32_MAX));
  };
  const ScorerWeights& weights = config_.weights;
  ScoreContext context{snapshot, request, config_, total_blocks, 0, result.prefix_stood_down};
  Clock::time_point before = Clock::now();
  for (size_t slot = 0; slot < kScorerCount; ++slot) {
    if (weights[slot] == 0) continue;  // not configured: no cost
    context.slot = slot;
    kScorers[slot].score(candidates, context);
    const Clock::time_point after = Clock::now();
    result.step_ns[slot] = ns(after - before);
    result.step_ran[slot] = true;
    before = after;
  }
  if (result.step_ran[kPrefixScorerSlot])  // its index lookup ran before the load guard
    result.step_ns[kPrefixScorerSlot] =
        ns(std::chrono::nanoseconds(result.step_ns[kPrefixScorerSlot]) + (lookup_done - lookup_started));
  for (EndpointSignals& c : candidates) {
    double total = 0;
    for (size_t slot = 0; slot < kScorerCount; ++slot)
      if (weights[slot] != 0) total += weights[slot] * c.scores[slot];
    c.total = total;
  }
  if (!request.prefix_hashes.empty()) {
    // Equal totals (idle pool, a prompt nobody holds) go where the prompt's own key
    // says, so two gateway replicas agree; the whole prompt's key, not its first
    // block's, so prompts sharing a system prompt still spread.
    const uint64_t key = request.prefix_hashes.back();
    for (EndpointSignals& c : candidates)
      c.tie_rank = rendezvous_weight(key, snapshot.scoring_view(c.index).address_hash);
  }

  const Clock::time_point t4 = Clock::now();
  // Latency objectives: the SLO-aware pick places the request (from the latency model's
  // predictions); while the model is cold it decides nothing and the scores do.
  std::optional<SloPick> slo;
  if (request.slo.any()) {
    predict_latency(candidates, snapshot, total_blocks, request.tokens_per_block);
    slo = pick_for_slo(candidates, request.slo, config_.headroom_strategy);
    // llm-d's latency admitter: shed a sheddable request nobody can serve in time, unless
    // a server is idle (its prediction may be stale; an idle one answers soonest anyway).
    if (slo && !slo->met && request.sheddable && request.hold_when_saturated &&
        std::none_of(candidates.begin(), candidates.end(), [](const EndpointSignals& c) { return c.inflight == 0; })) {
      result.status = PickStatus::SloUnattainable;
      return result;
    }
  }
  const EndpointSignals& chosen = candidates[slo ? slo->position : pick_max_score(candidates, rng)];
  if (cold) inflight_.stamp_cold(chosen.id);
  result.step_ns[kPickerStep] = ns(Clock::now() - t4);
  result.step_ran[kPickerStep] = true;
  result.scored = true;
  result.status = PickStatus::Ok;
  result.endpoint = chosen.id;
  result.index = chosen.index;
  result.reason = slo ? PickReason::Slo : chosen.placement ? PickReason::PrefixPlacement : PickReason::Score;
  result.matched_blocks = chosen.prefix_blocks;
  result.features = latency_features(chosen, total_blocks, request.tokens_per_block);
  result.slo_met = slo && slo->met;
  result.predicted_ttft_ms = chosen.predicted_ttft_ms;
  result.predicted_tpot_ms = chosen.predicted_tpot_ms;
  return result;
}

void Scheduler::on_routed(EndpointId endpoint, std::span<const uint64_t> prefix_hashes) {
  index_.on_routed(endpoint, prefix_hashes);
}

}  // namespace ringgate::sched
