#pragma once
// Which endpoints were last sent which prompt prefix: chained block hash ->
// endpoints, shared by all workers (so every worker gets the same answer).
//
// Structure: the hash -> holders map is split into 64 shards, each behind its
// own mutex, held only for one probe or one update (a few dozen ns; with 64
// shards two workers rarely meet). Each endpoint has its own LRU of the hashes
// it holds (a ring of touch records, exact LRU via lazy deletion), bounded by
// its capacity: num_gpu_blocks when the server reports it, else a default.
//
// Longest match by binary search over the chain: when endpoint E holds h_i it
// was sent the whole prefix up to block i, and the index keeps each endpoint's
// set prefix-closed (E holds h_i => E holds h_j for all j < i): on_routed
// touches a chain from its LAST block to its first, so ancestors always have a
// strictly newer touch than descendants, and eviction removes the least
// recently touched pair first -- never an ancestor before its descendants. The
// predicate "E holds h_i" is then monotone in i and binary search returns the
// same length as a linear scan (tests/sched/prefix_index_test.cpp checks this
// on randomized chains with evictions). While another worker is mid-update for
// the same endpoint, a reader may transiently see a shorter or longer boundary;
// the answer is still a prefix that endpoint was sent.
//
// Threads: on_routed / longest_matches / stats from any worker; set_capacity,
// purge from the control thread (also safe concurrently with workers).
// on_routed appends its touch records under the endpoint's lock, then applies
// the holder updates grouped by shard (one shard lock per shard touched, not
// per block). It allocates only when a new hash enters a shard (pooled memory,
// reused after eviction) or a thread's scratch grows; lookups never allocate.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "ringgate/sched/endpoint_id.h"

namespace ringgate::sched {

struct PrefixMatch {
    EndpointId endpoint = kNoEndpoint;
    uint32_t blocks = 0;  // number of leading blocks this endpoint holds (>= 1)
};

struct PrefixIndexStats {
    size_t entries = 0;         // (hash, endpoint) pairs held, all endpoints
    size_t distinct_hashes = 0;
    size_t memory_bytes = 0;    // estimate: map nodes + holder records + LRU rings
};

class PrefixIndex {
public:
    static constexpr size_t kShards = 64;

    // default_capacity: blocks per endpoint until set_capacity() says otherwise.
    // max_endpoints: ids must be below it (larger ids are ignored).
    explicit PrefixIndex(size_t default_capacity = 1u << 16, size_t max_endpoints = 1u << 16);
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

    // Bound for one endpoint (blocks); evicts its LRU pairs if now over.
    void set_capacity(EndpointId endpoint, size_t blocks);
    // Forget everything about an endpoint (it left the pool).
    void purge(EndpointId endpoint);

    size_t entries(EndpointId endpoint) const;
    size_t capacity(EndpointId endpoint) const;
    PrefixIndexStats stats() const;

private:
    struct Shard;
    struct EndpointLru;
    Shard& shard_for(uint64_t hash) const;
    EndpointLru* lru(EndpointId endpoint) const;
    EndpointLru* lru_or_create(EndpointId endpoint);
    bool erase_holder(uint64_t hash, EndpointId endpoint, uint64_t tick, bool any_tick);
    void evict_oldest(EndpointId endpoint, EndpointLru& lru);

    size_t default_capacity_;
    size_t max_endpoints_;
    std::unique_ptr<Shard[]> shards_;
    std::unique_ptr<std::atomic<EndpointLru*>[]> lrus_;
    std::atomic<size_t> entries_{0};
};

}  // namespace ringgate::sched
