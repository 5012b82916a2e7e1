// A finite pool of KV-cache blocks with prefix caching, shaped like vLLM's
// block pool: blocks held by running sequences are in use; a released block
// that holds a full prompt block keeps its hash and stays findable until it is
// evicted (least recently released first) to make room for a new block.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <unordered_map>
#include <vector>

#include "ringgate/kvevents/kv_event.h"
#include "ringgate/sim/cpu_kv_tier.h"

namespace ringgate::sim {

// The blocks one sequence holds: its prompt blocks (hashed, shareable) and
// its other blocks (partial prompt block and output), in order.
struct KvAllocation {
  std::vector<uint32_t> blocks;
  uint32_t cached_blocks = 0;  // leading blocks that were already in the cache
  uint32_t cpu_blocks = 0;     // the blocks after those that the CPU tier held: loaded, not computed
};

// What a BlockStored event says of newly cached blocks beyond their hashes:
// the token ids of the hashed blocks (block_size each, in order) and the adapter.
struct StoredBlockInfo {
  std::span<const uint32_t> tokens;
  uint32_t block_size = 0;
  std::optional<int64_t> lora_id;
  std::span<const kvevents::BlockExtraKeys> extra_keys;  // per hashed block; empty: none
};

class PrefixKvCache {
 public:
  // `cpu_blocks`: the OffloadingConnector's CPU tier (0: none), whose events name blocks
  // of `block_size` tokens.
  explicit PrefixKvCache(uint32_t num_blocks, uint32_t cpu_blocks = 0, uint32_t block_size = 0);

  uint32_t num_blocks() const { return static_cast<uint32_t>(blocks_.size()); }
  // Blocks held by at least one sequence (cached-but-free blocks count as free, as in vLLM).
  uint32_t used_blocks() const { return used_; }
  double usage() const { return blocks_.empty() ? 0.0 : double(used_) / double(blocks_.size()); }

  // Leading entries of `hashes` present in the cache (held or free).
  uint32_t match(std::span<const uint64_t> hashes) const;
  // Blocks the CPU tier holds (0 without one).
  uint32_t cpu_tier_blocks() const { return cpu_ ? cpu_->size() : 0; }

  // Blocks not held by any sequence (cached-but-free ones included: they can be evicted).
  uint32_t free_blocks() const { return num_blocks() - used_; }

  // Whether allocate(hashes, extra, max_cached) would succeed now.
  bool can_allocate(std::span<const uint64_t> hashes, uint32_t extra_blocks,
                    uint32_t max_cached_blocks = UINT32_MAX) const;

  // Takes the cached leading blocks of `hashes` (at most `max_cached_blocks`
  // of them: vLLM always recomputes a prompt's last token), fresh blocks for
  // the rest of them (recorded under their hashes) and `extra_blocks`
  // unhashed blocks. Of the fresh ones, those that continue the cached run in the CPU
  // tier (within `max_cached_blocks` too) are counted in `out.cpu_blocks`: loaded.
  // Returns false and changes nothing when there are not enough free blocks.
  // With events recorded, blocks newly cached under a hash make BlockStored
  // events (`info` gives their tokens) and evicted ones BlockRemoved, as vLLM's
  // block pool emits them.
  bool allocate(std::span<const uint64_t> hashes, uint32_t extra_blocks, KvAllocation& out,
                uint32_t max_cached_blocks = UINT32_MAX, const StoredBlockInfo* info = nullptr);

  // Appends `n` unhashed blocks to a held allocation (a decoding sequence's
  // next block). Returns false and changes nothing when not enough are free.
  bool grow(KvAllocation& allocation, uint32_t n);

  // Gives the blocks back; hashed ones stay cached until evicted.
  void release(const KvAllocation& allocation);

  // Starts recording KV-cache events (off by default: nobody reads them).
  void record_events() { recording_ = true; }
  // The events since the last call, oldest first.
  std::vector<kvevents::KvEvent> take_events() { return std::exchange(events_, {}); }

 private:
  static constexpr int32_t kNone = -1;
  struct Block {
    uint64_t hash = 0;
    bool hashed = false;
    uint32_t ref_count = 0;
    int32_t prev = kNone;  // free-list links (only while ref_count == 0)
    int32_t next = kNone;
  };

  // Free blocks form one list: unhashed blocks are taken first (from the
  // front), then cached ones, least recently released first.
  void unlink(uint32_t index);
  void push_back(uint32_t index);
  void push_front(uint32_t index);
  uint32_t take_free_block();
  // A hashed block leaves the GPU: into the CPU tier, if there is one (its events).
  void offload(uint64_t hash);
  static void record_stored(std::vector<kvevents::BlockStored>& stored, bool joined,
                            std::span<const uint64_t> hashes, size_t i, const StoredBlockInfo* info);

  std::vector<Block> blocks_;
  std::unordered_map<uint64_t, uint32_t> by_hash_;
  int32_t head_ = kNone;
  int32_t tail_ = kNone;
  uint32_t used_ = 0;
  bool recording_ = false;
  std::vector<kvevents::KvEvent> events_;
  std::unique_ptr<CpuKvTier> cpu_;
  uint32_t block_size_ = 0;
};

}  // namespace ringgate::sim
