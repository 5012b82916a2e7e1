#include "ringgate/sim/prefix_kv_cache.h"

namespace ringgate::sim {

PrefixKvCache::PrefixKvCache(uint32_t num_blocks, uint32_t cpu_blocks, uint32_t block_size)
    : blocks_(num_blocks), block_size_(block_size) {
  if (cpu_blocks > 0) cpu_ = std::make_unique<CpuKvTier>(cpu_blocks);
  by_hash_.reserve(num_blocks);
  for (uint32_t i = 0; i < num_blocks; ++i) push_back(i);
}

uint32_t PrefixKvCache::match(std::span<const uint64_t> hashes) const {
  uint32_t n = 0;
  for (uint64_t h : hashes) {
    if (!by_hash_.contains(h)) break;
    ++n;
  }
  return n;
}

bool PrefixKvCache::can_allocate(std::span<const uint64_t> hashes, uint32_t extra_blocks,
                                 uint32_t max_cached_blocks) const {
  uint32_t matched = 0;
  uint32_t matched_free = 0;
  for (uint64_t h : hashes) {
    if (matched >= max_cached_blocks) break;
    auto it = by_hash_.find(h);
    if (it == by_hash_.end()) break;
    ++matched;
    if (blocks_[it->second].ref_count == 0) ++matched_free;
  }
  uint64_t needed = uint64_t(hashes.size() - matched) + extra_blocks;
  uint64_t free_blocks = num_blocks() - used_ - matched_free;
  return needed <= free_blocks;
}

bool PrefixKvCache::allocate(std::span<const uint64_t> hashes, uint32_t extra_blocks, KvAllocation& out,
                             uint32_t max_cached_blocks, const StoredBlockInfo* info) {
  if (!can_allocate(hashes, extra_blocks, max_cached_blocks)) return false;
  out.blocks.clear();
  out.blocks.reserve(hashes.size() + extra_blocks);
  out.cached_blocks = 0;
  out.cpu_blocks = 0;
  size_t i = 0;
  for (; i < hashes.size() && i < max_cached_blocks; ++i) {
    auto it = by_hash_.find(hashes[i]);
    if (it == by_hash_.end()) break;
    Block& b = blocks_[it->second];
    if (b.ref_count++ == 0) {
      unlink(it->second);
      ++used_;
    }
    out.blocks.push_back(it->second);
    ++out.cached_blocks;
  }
  // The CPU tier's run after the GPU's: read before any eviction below can offload more.
  if (cpu_) {
    for (size_t j = i; j < hashes.size() && j < max_cached_blocks && cpu_->contains(hashes[j]); ++j) {
      cpu_->touch(hashes[j]);
      ++out.cpu_blocks;
    }
  }
  // vLLM takes every new block (evicting: BlockRemoved) before it caches the
  // full ones (BlockStored), so the stored events go after this call's removals.
  std::vector<kvevents::BlockStored> stored;
  bool joined = false;  // whether the next new block continues the last event
  for (; i < hashes.size(); ++i) {
    uint32_t index = take_free_block();
    // A later block can outlive an evicted earlier one; keep the first copy findable.
    if (by_hash_.emplace(hashes[i], index).second) {
      blocks_[index].hash = hashes[i];
      blocks_[index].hashed = true;
      if (recording_) record_stored(stored, joined, hashes, i, info);
      joined = true;
    } else {
      joined = false;  // a copy is not cached again: the next new block starts a new event
    }
    out.blocks.push_back(index);
  }
  for (uint32_t e = 0; e < extra_blocks; ++e) out.blocks.push_back(take_free_block());
  for (auto& e : stored) events_.push_back(std::move(e));
  return true;
}

bool PrefixKvCache::grow(KvAllocation& allocation, uint32_t n) {
  if (n > free_blocks()) return false;
  for (uint32_t e = 0; e < n; ++e) allocation.blocks.push_back(take_free_block());
  return true;
}

void PrefixKvCache::release(const KvAllocation& allocation) {
  // Last block first, so a prompt's tail is evicted before its head (as vLLM does).
  for (auto it = allocation.blocks.rbegin(); it != allocation.blocks.rend(); ++it) {
    Block& b = blocks_[*it];
    if (b.ref_count == 0 || --b.ref_count > 0) continue;
    --used_;
    if (b.hashed) push_back(*it);
    else push_front(*it);
  }
}

uint32_t PrefixKvCache::take_free_block() {
  uint32_t index = static_cast<uint32_t>(head_);
  unlink(index);
  Block& b = blocks_[index];
  if (b.hashed) {
    by_hash_.erase(b.hash);  // evicted: its prefix is no longer cached (only this block holds the hash)
    b.hashed = false;
    // vLLM's _maybe_evict_cached_block: one BlockRemoved per evicted block.
    if (recording_) {
      kvevents::BlockRemoved removed;
      removed.block_hashes.push_back(b.hash);
      removed.medium.emplace(kvevents::kMediumGpu);
      events_.emplace_back(std::move(removed));
    }
    offload(b.hash);
  }
  b.ref_count = 1;
  ++used_;
  return index;
}

void PrefixKvCache::offload(uint64_t hash) {
  if (!cpu_) return;
  bool stored = false;
  const std::optional<uint64_t> evicted = cpu_->store(hash, stored);
  if (!recording_) return;
  // The OffloadingConnector's events: one block each, no parent, no tokens, medium CPU.
  if (evicted) {
    kvevents::BlockRemoved removed;
    removed.block_hashes.push_back(*evicted);
    removed.medium.emplace(kvevents::kMediumCpu);
    events_.emplace_back(std::move(removed));
  }
  if (stored) {
    kvevents::BlockStored e;
    e.block_hashes.push_back(hash);
    e.block_size = block_size_;
    e.medium = std::string(kvevents::kMediumCpu);
    events_.emplace_back(std::move(e));
  }
}

void PrefixKvCache::record_stored(std::vector<kvevents::BlockStored>& stored, bool joined,
                                  std::span<const uint64_t> hashes, size_t i, const StoredBlockInfo* info) {
  // vLLM's cache_full_blocks: one event for the blocks a step fills, parent =
  // the block before the first of them.
  if (!joined || stored.empty()) {
    kvevents::BlockStored e;
    if (i > 0) e.parent_block_hash = hashes[i - 1];
    e.medium = std::string(kvevents::kMediumGpu);
    if (info) {
      e.block_size = info->block_size;
      e.lora_id = info->lora_id;
    }
    stored.push_back(std::move(e));
  }
  kvevents::BlockStored& open = stored.back();
  open.block_hashes.push_back(hashes[i]);
  if (info && info->block_size > 0 && (i + 1) * info->block_size <= info->tokens.size()) {
    auto t = info->tokens.subspan(i * info->block_size, info->block_size);
    open.token_ids.insert(open.token_ids.end(), t.begin(), t.end());
  }
  // vLLM's extra_keys: one entry per block of the event, when the request has any.
  if (info && i < info->extra_keys.size()) {
    open.extra_keys.resize(open.block_hashes.size() - 1);
    open.extra_keys.push_back(info->extra_keys[i]);
  }
}

void PrefixKvCache::unlink(uint32_t index) {
  Block& b = blocks_[index];
  if (b.prev != kNone) blocks_[b.prev].next = b.next;
  else head_ = b.next;
  if (b.next != kNone) blocks_[b.next].prev = b.prev;
  else tail_ = b.prev;
  b.prev = b.next = kNone;
}

void PrefixKvCache::push_back(uint32_t index) {
  Block& b = blocks_[index];
  b.prev = tail_;
  b.next = kNone;
  if (tail_ != kNone) blocks_[tail_].next = static_cast<int32_t>(index);
  else head_ = static_cast<int32_t>(index);
  tail_ = static_cast<int32_t>(index);
}

void PrefixKvCache::push_front(uint32_t index) {
  Block& b = blocks_[index];
  b.next = head_;
  b.prev = kNone;
  if (head_ != kNone) blocks_[head_].prev = static_cast<int32_t>(index);
  else tail_ = static_cast<int32_t>(index);
  head_ = static_cast<int32_t>(index);
}

}  // namespace ringgate::sim
