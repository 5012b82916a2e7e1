#include "ringgate/sched/exact_block_index.h"

#include <algorithm>
#include <mutex>

namespace ringgate::sched {

const char* to_string(ExactState state) {
  switch (state) {
    case ExactState::Off: return "approximate";
    case ExactState::Syncing: return "syncing";
    case ExactState::Precise: return "precise";
    case ExactState::Fallback: return "approximate-fallback";
  }
  return "approximate";
}

ExactBlockIndex::ExactBlockIndex(size_t max_blocks_per_endpoint, size_t max_endpoints, TierWeights tiers)
    : max_blocks_(max_blocks_per_endpoint), tiers_(std::move(tiers)), entries_(max_endpoints) {
  static_assert(TierWeights::kMaxTiers == 8, "a block's tiers are a uint8_t");
  const auto weight = tiers_.by_slot();
  for (size_t mask = 1; mask < mask_weight_.size(); ++mask)
    for (size_t slot = 0; slot < TierWeights::kMaxTiers; ++slot)
      if (mask & (size_t(1) << slot)) mask_weight_[mask] = std::max(mask_weight_[mask], weight[slot]);
}

ExactBlockIndex::Entry* ExactBlockIndex::entry(EndpointId endpoint) const {
  if (endpoint >= entries_.size()) return nullptr;
  return entries_[endpoint].load(std::memory_order_acquire);
}

ExactBlockIndex::Entry* ExactBlockIndex::entry_or_create(EndpointId endpoint) {
  if (endpoint >= entries_.size()) return nullptr;
  Entry* e = entries_[endpoint].load(std::memory_order_acquire);
  if (e) return e;
  std::lock_guard lock(owned_mutex_);
  e = entries_[endpoint].load(std::memory_order_acquire);
  if (e) return e;
  owned_.push_back(std::make_unique<Entry>());
  e = owned_.back().get();
  entries_[endpoint].store(e, std::memory_order_release);
  return e;
}

void ExactBlockIndex::apply(EndpointId endpoint, uint64_t seq, const kvevents::KvEventBatch& batch) {
  Entry* e = entry_or_create(endpoint);
  if (!e) return;
  std::unique_lock lock(e->mutex);
  for (const kvevents::KvEvent& event : batch.events) {
    if (const auto* stored = std::get_if<kvevents::BlockStored>(&event)) {
      const int slot = tiers_.slot(stored->medium);
      if (slot < 0) {
        unknown_medium_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      const uint8_t bit = uint8_t(1u << slot);
      for (uint64_t h : stored->block_hashes) {
        if (auto it = e->blocks.find(h); it != e->blocks.end()) {
          it->second |= bit;
          continue;
        }
        if (e->blocks.size() >= max_blocks_) {
          if (!e->over_bound) {
            e->over_bound = true;
            e->state = ExactState::Fallback;
            e->reason = "announced more than " + std::to_string(max_blocks_) + " blocks (kvEvents.maxBlocksPerEndpoint)";
          }
          continue;
        }
        e->blocks.emplace(h, bit);
      }
    } else if (const auto* removed = std::get_if<kvevents::BlockRemoved>(&event)) {
      const int slot = tiers_.slot(removed->medium);
      if (slot < 0) {
        unknown_medium_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      const uint8_t bit = uint8_t(1u << slot);
      for (uint64_t h : removed->block_hashes) {
        auto it = e->blocks.find(h);
        if (it == e->blocks.end()) continue;
        it->second &= uint8_t(~bit);  // the other tiers' copies stay
        if (it->second == 0) e->blocks.erase(it);
      }
    } else {
      e->blocks.clear();
      if (e->over_bound) {
        e->over_bound = false;
        e->state = ExactState::Precise;
        e->reason.clear();
      }
    }
  }
  ++e->batches;
  e->last_seq = seq;
}

void ExactBlockIndex::set_state(EndpointId endpoint, ExactState state, std::string reason, bool clear) {
  Entry* e = entry_or_create(endpoint);
  if (!e) return;
  std::unique_lock lock(e->mutex);
  if (clear) {
    e->blocks.clear();
    e->over_bound = false;
  }
  if (e->over_bound && state == ExactState::Precise) return;  // still over: stays in fallback
  e->state = state;
  e->reason = std::move(reason);
}

// As llm-d's longest-prefix scorer (llm-d-kv-cache, #2809's tier weights): the run goes
// on through a block held in any weighted tier, even one weighted 0, and each block of
// it adds the best weight among its tiers.
LeadingMatch ExactBlockIndex::leading_match(EndpointId endpoint, std::span<const uint64_t> hashes) const {
  LeadingMatch match;
  const Entry* e = entry(endpoint);
  if (!e) return match;
  std::shared_lock lock(e->mutex);
  if (e->state != ExactState::Precise) return match;
  match.blocks = 0;
  for (uint64_t h : hashes) {
    auto it = e->blocks.find(h);
    if (it == e->blocks.end()) break;
    ++match.blocks;
    match.weighted += double(mask_weight_[it->second]);
  }
  return match;
}

ExactState ExactBlockIndex::state(EndpointId endpoint) const {
  const Entry* e = entry(endpoint);
  if (!e) return ExactState::Off;
  std::shared_lock lock(e->mutex);
  return e->state;
}

ExactEndpointReport ExactBlockIndex::report(EndpointId endpoint) const {
  ExactEndpointReport r;
  const Entry* e = entry(endpoint);
  if (!e) return r;
  std::shared_lock lock(e->mutex);
  r.state = e->state;
  r.reason = e->reason;
  r.blocks = e->blocks.size();
  r.batches = e->batches;
  r.last_seq = e->last_seq;
  return r;
}

ExactIndexStats ExactBlockIndex::stats() const {
  ExactIndexStats s;
  s.max_blocks_per_endpoint = max_blocks_;
  s.unknown_medium_events = unknown_medium_.load(std::memory_order_relaxed);
  std::lock_guard owned(owned_mutex_);
  for (const auto& e : owned_) {
    std::shared_lock lock(e->mutex);
    s.blocks += e->blocks.size();
    s.memory_bytes += e->blocks.size() * kBytesPerBlock + e->blocks.bucket_count() * sizeof(void*);
    if (e->state == ExactState::Precise) ++s.endpoints_precise;
    if (e->state == ExactState::Fallback) ++s.endpoints_fallback;
  }
  return s;
}

void ExactBlockIndex::purge(EndpointId endpoint) {
  Entry* e = entry(endpoint);
  if (!e) return;
  std::unique_lock lock(e->mutex);
  e->blocks = {};
  e->state = ExactState::Off;
  e->reason.clear();
  e->batches = 0;
  e->last_seq = 0;
  e->over_bound = false;
}

}  // namespace ringgate::sched
