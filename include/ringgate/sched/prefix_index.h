#pragma once
// Which endpoints were last sent which prompt prefix: (chained block hash,
// endpoint) pairs, shared by all workers (so every worker gets the same answer).
//
// Memory: everything is allocated once, at construction, from a byte budget
// (config scheduler.prefixIndexMemoryBytes): a pool of block records, a pool
// of segment records and two fixed open-addressing tables, the pair table
// (hash, endpoint) -> block and the root directory h0 -> endpoints. Nothing
// grows or rehashes afterwards, so recording costs the same on the millionth
// request as on the first, and the index never holds more than its budget
// whatever a model server reports as its capacity. The pages are zero pages
// until used (the resident size grows with the entries, up to the budget).
//
// Each endpoint holds at most capacity(endpoint) blocks: num_gpu_blocks-derived
// via set_capacity(), else the default, and never more than an equal share of
// the pool among the endpoints known to the index.
//
// Recency: an endpoint's blocks form segments -- the run of blocks one request
// added, attached to the block where its prompt left the already recorded
// chain. Segments sit in a per-endpoint LRU list with every segment older than
// its parent: recording a prompt moves the segments of its recorded prefix to
// the front (deepest first, so the root ends newest) and adds the new segment
// just behind its parent. The oldest segment is then always a leaf, and
// eviction pops blocks off its tail: O(1) per block, and each endpoint's set
// stays prefix-closed (E holds h_i => E holds h_j for all j < i).
//
// Because the set is prefix-closed and h_i covers the whole prefix, recording
// only needs the blocks the endpoint does not hold yet (found by binary search,
// ~log2(n) probes) and the longest match is found the same way: the predicate
// "E holds h_i" is monotone in i (tests/sched/prefix_index_test.cpp checks the
// binary search against a linear scan on randomized chains with evictions).
// While another worker is mid-update for the same endpoint, a reader may
// transiently see a shorter or longer boundary; the answer is still a prefix
// that endpoint was sent.
//
// Threads: on_routed / longest_matches / stats from any worker; set_capacity,
// purge from the control thread (also safe concurrently with workers). Each
// endpoint's records are changed under its own mutex; the tables are split in
// 64 shards, each behind a mutex held for one probe, or for one batch of a
// recording's updates grouped by shard (one lock per shard touched, not per
// block). Table positions are keyed with a per-process random secret, so
// crafted prompts cannot pile their blocks into one shard.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>

#include "ringgate/sched/endpoint_id.h"

namespace ringgate::sched {

// Default memory budget of the prefix index (about 1.6 million blocks of 64
// prompt bytes: 100 MB of prompt text, ~26 million tokens).
inline constexpr size_t kDefaultPrefixIndexBytes = size_t(128) << 20;

// The blocks of the index (of block_bytes prompt bytes) a server gets: twice the KV it
// reports (`kv_blocks` of `block_tokens` tokens, both tiers), its tokens at 4 bytes each.
// Twice: forgetting a prompt the server still holds sends its next request elsewhere, a
// sure miss, while remembering one it evicted costs no hit (every server would miss it);
// perf/routing/README "The index's size" measured shrinking it by the server's own
// counters, and kept this. Unknown block_tokens (0): vLLM's default, 16.
constexpr size_t kv_index_capacity(uint64_t kv_blocks, uint64_t block_tokens, size_t block_bytes) {
  const uint64_t tokens = kv_blocks * (block_tokens ? block_tokens : 16);
  return size_t(2 * tokens * 4 / (block_bytes ? block_bytes : 64));
}

struct PrefixMatch {
  EndpointId endpoint = kNoEndpoint;
  uint32_t blocks = 0;  // number of leading blocks this endpoint holds (>= 1)
};

struct PrefixIndexStats {
  size_t entries = 0;          // (hash, endpoint) pairs held, all endpoints
  size_t capacity_blocks = 0;  // pairs the budget holds, all endpoints together
  size_t memory_bytes = 0;     // allocated (<= budget_bytes)
  size_t budget_bytes = 0;     // the configured budget
};

class PrefixIndex {
 public:
  // Bytes of index memory per block of capacity (block + segment record, two
  // pair-table slots, 1.25 directory slots).
  static constexpr size_t kBytesPerBlock = 84;

  // default_capacity: blocks per endpoint until set_capacity() says otherwise.
  // max_endpoints: ids must be below it (larger ids are ignored).
  // memory_bytes: the budget for everything the index allocates.
  explicit PrefixIndex(size_t default_capacity = 1u << 16, size_t max_endpoints = 1u << 16,
                       size_t memory_bytes = kDefaultPrefixIndexBytes);
  ~PrefixIndex();
  PrefixIndex(const PrefixIndex&) = delete;
  PrefixIndex& operator=(const PrefixIndex&) = delete;

  // Record that `endpoint` was sent the prompt with these chained hashes.
  void on_routed(EndpointId endpoint, std::span<const uint64_t> hashes);

  // For each endpoint holding hashes[0], how many leading blocks it holds
  // (binary search). Writes at most out.size() matches; returns the count.
  size_t longest_matches(std::span<const uint64_t> hashes, std::span<PrefixMatch> out) const;
  // Same answer by a linear walk (for tests and verification).
  size_t longest_matches_linear(std::span<const uint64_t> hashes, std::span<PrefixMatch> out) const;
  // Does `endpoint` hold this hash?
  bool holds(EndpointId endpoint, uint64_t hash) const;

  // Bound for one endpoint (blocks, any value: clamped to its share of the
  // budget); evicts its LRU blocks if now over. Cheap when unchanged.
  void set_capacity(EndpointId endpoint, size_t blocks);
  // Forget everything about an endpoint (it left the pool).
  void purge(EndpointId endpoint);

  size_t entries(EndpointId endpoint) const;
  // Effective bound of the endpoint (after clamping to the budget).
  size_t capacity(EndpointId endpoint) const;
  // The same as of the endpoint's last write, without its lock (0: never written).
  size_t capacity_relaxed(EndpointId endpoint) const;
  // (first block, endpoint) pairs held: the distinct prompt roots, once per endpoint holding one.
  size_t root_entries() const { return root_entries_.load(std::memory_order_relaxed); }
  PrefixIndexStats stats() const;

  struct Block;
  struct Segment;
  struct Endpoint;
  class Table;

 private:
  Endpoint* endpoint_state(EndpointId endpoint) const;
  Endpoint* endpoint_state_or_create(EndpointId endpoint);
  size_t share(size_t requested) const;
  void trim_all();
  void trim_locked(EndpointId id, Endpoint& e);
  void make_known(Endpoint& e);
  uint32_t probe(EndpointId endpoint, uint64_t hash) const;  // block id or none
  size_t held_prefix(EndpointId endpoint, std::span<const uint64_t> hashes, uint32_t& last_block) const;
  void touch_path(Endpoint& e, uint32_t segment, size_t& path_segments);
  void unlink_segment(Endpoint& e, uint32_t s);
  bool evict_one(EndpointId id, Endpoint& e, size_t protected_segments);
  size_t apply_ops(EndpointId id);
  void evict_to(EndpointId id, Endpoint& e, size_t blocks);
  size_t take_blocks(size_t want, uint32_t* out);
  void release_blocks(std::span<const uint32_t> blocks);
  uint32_t take_segment();
  void release_segment(uint32_t s);

  size_t default_capacity_;
  size_t max_endpoints_;
  size_t budget_bytes_;
  size_t pool_blocks_;  // blocks the budget holds
  size_t allocated_bytes_ = 0;
  uint64_t secret_;

  Block* blocks_ = nullptr;
  Segment* segments_ = nullptr;
  std::unique_ptr<Table> pairs_;  // (hash, endpoint) -> block
  std::unique_ptr<Table> roots_;  // h0 -> endpoints (entries keyed by h0 alone)

  mutable std::mutex pool_mu_;  // the free lists
  uint32_t free_block_;         // linked through Block::prev
  uint32_t free_segment_;       // linked through Segment::older
  size_t fresh_blocks_ = 0;     // never used yet: [fresh_blocks_, pool_blocks_)
  size_t fresh_segments_ = 0;
  std::atomic<size_t> known_endpoints_{0};  // endpoints recorded or sized, not purged (the share divisor)
  std::atomic<size_t> states_{0};           // endpoint records allocated

  std::unique_ptr<std::atomic<Endpoint*>[]> endpoints_;
  std::atomic<size_t> entries_{0};
  std::atomic<size_t> root_entries_{0};
};

}  // namespace ringgate::sched
