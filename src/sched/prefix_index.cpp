#include "ringgate/sched/prefix_index.h"

#include <algorithm>
#include <memory_resource>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace ringgate::sched {
namespace {

struct Holder {
    EndpointId endpoint;
    uint64_t tick;  // the endpoint's LRU clock at its last touch of this hash
};

struct Record {
    uint64_t hash;
    uint64_t tick;
};

// The hash is already uniformly distributed: use it as is.
struct IdentityHash {
    size_t operator()(uint64_t h) const noexcept { return size_t(h); }
};

constexpr size_t kMaxProbeHolders = 1024;

}  // namespace

struct alignas(64) PrefixIndex::Shard {
    mutable std::mutex mu;
    // Pooled node memory: evicted nodes are reused by new ones without malloc.
    std::pmr::unsynchronized_pool_resource pool;
    std::pmr::unordered_map<uint64_t, std::pmr::vector<Holder>, IdentityHash> map{&pool};
};

// One endpoint's LRU of the hashes it holds: a ring of touch records, oldest
// first. A record is live when its tick equals the holder's current tick for
// that hash; older records of re-touched hashes are stale and skipped.
struct PrefixIndex::EndpointLru {
    std::mutex mu;                 // serializes writers for this endpoint
    std::vector<Record> ring;      // grows up to capacity
    size_t head = 0;               // oldest record
    size_t size = 0;
    size_t capacity = 0;
    uint64_t tick = 0;
    std::atomic<size_t> live{0};

    Record& at(size_t i) { return ring[(head + i) % ring.size()]; }
};

PrefixIndex::PrefixIndex(size_t default_capacity, size_t max_endpoints)
    : default_capacity_(std::max<size_t>(default_capacity, 1)),
      max_endpoints_(max_endpoints),
      shards_(new Shard[kShards]),
      lrus_(new std::atomic<EndpointLru*>[max_endpoints]) {
    for (size_t i = 0; i < max_endpoints_; ++i) lrus_[i].store(nullptr, std::memory_order_relaxed);
}

PrefixIndex::~PrefixIndex() {
    for (size_t i = 0; i < max_endpoints_; ++i) delete lrus_[i].load(std::memory_order_relaxed);
}

PrefixIndex::Shard& PrefixIndex::shard_for(uint64_t hash) const {
    return shards_[hash >> 58];  // top 6 bits: 64 shards
}

PrefixIndex::EndpointLru* PrefixIndex::lru(EndpointId endpoint) const {
    if (endpoint >= max_endpoints_) return nullptr;
    return lrus_[endpoint].load(std::memory_order_acquire);
}

PrefixIndex::EndpointLru* PrefixIndex::lru_or_create(EndpointId endpoint) {
    if (endpoint >= max_endpoints_) return nullptr;
    EndpointLru* existing = lrus_[endpoint].load(std::memory_order_acquire);
    if (existing) return existing;
    auto* fresh = new EndpointLru();
    fresh->capacity = default_capacity_;
    if (lrus_[endpoint].compare_exchange_strong(existing, fresh, std::memory_order_acq_rel)) return fresh;
    delete fresh;  // another thread created it first
    return existing;
}

bool PrefixIndex::erase_holder(uint64_t hash, EndpointId endpoint, uint64_t tick, bool any_tick) {
    Shard& s = shard_for(hash);
    std::lock_guard lock(s.mu);
    auto it = s.map.find(hash);
    if (it == s.map.end()) return false;
    auto& holders = it->second;
    for (size_t i = 0; i < holders.size(); ++i) {
        if (holders[i].endpoint != endpoint) continue;
        if (!any_tick && holders[i].tick != tick) return false;  // stale record
        holders[i] = holders.back();
        holders.pop_back();
        if (holders.empty()) s.map.erase(it);
        return true;
    }
    return false;
}

// Drops the oldest record; if it was live, the pair leaves the index.
void PrefixIndex::evict_oldest(EndpointId endpoint, EndpointLru& l) {
    Record r = l.at(0);
    l.head = (l.head + 1) % l.ring.size();
    --l.size;
    if (erase_holder(r.hash, endpoint, r.tick, false)) {
        l.live.fetch_sub(1, std::memory_order_relaxed);
        entries_.fetch_sub(1, std::memory_order_relaxed);
    }
}

void PrefixIndex::on_routed(EndpointId endpoint, std::span<const uint64_t> hashes) {
    EndpointLru* l = lru_or_create(endpoint);
    if (!l || hashes.empty()) return;
    std::lock_guard lock(l->mu);
    if (l->capacity == 0) return;

    // Pass 1 (endpoint lock only): append touch records, last block first, so
    // each ancestor gets a newer tick than its descendants and LRU eviction
    // keeps the endpoint's set prefix-closed. Records pushed out of a full
    // ring become pending erasures.
    struct Op {
        uint64_t hash;
        uint64_t tick;
        bool insert;  // false: erase if the holder still has this tick
    };
    thread_local std::vector<Op> ops, sorted;
    ops.clear();
    size_t n = std::min(hashes.size(), l->capacity);
    for (size_t k = n; k-- > 0;) {
        uint64_t tick = ++l->tick;
        if (l->size == l->capacity) {
            ops.push_back(Op{l->at(0).hash, l->at(0).tick, false});
            l->head = (l->head + 1) % l->ring.size();
            --l->size;
        }
        if (l->size == l->ring.size()) {
            // Grow (amortized): linearize into a larger ring.
            std::vector<Record> bigger;
            bigger.reserve(std::min(l->capacity, std::max<size_t>(64, l->ring.size() * 2)));
            for (size_t i = 0; i < l->size; ++i) bigger.push_back(l->at(i));
            bigger.resize(bigger.capacity());
            l->ring = std::move(bigger);
            l->head = 0;
        }
        l->ring[(l->head + l->size) % l->ring.size()] = Record{hashes[k], tick};
        ++l->size;
        ops.push_back(Op{hashes[k], tick, true});
    }

    // Pass 2: apply the holder updates grouped by shard (stable counting sort),
    // one lock per shard touched instead of one per block. An erase and an
    // insert of the same hash commute: the erase only removes the holder if
    // it still carries the old record's tick.
    size_t bucket_start[kShards + 1] = {};
    for (const Op& op : ops) ++bucket_start[(op.hash >> 58) + 1];
    for (size_t b = 0; b < kShards; ++b) bucket_start[b + 1] += bucket_start[b];
    sorted.resize(ops.size());
    size_t fill[kShards];
    std::copy(bucket_start, bucket_start + kShards, fill);
    for (const Op& op : ops) sorted[fill[op.hash >> 58]++] = op;

    int64_t live_delta = 0;
    for (size_t b = 0; b < kShards; ++b) {
        if (bucket_start[b] == bucket_start[b + 1]) continue;
        Shard& shard = shards_[b];
        std::lock_guard shard_lock(shard.mu);
        for (size_t i = bucket_start[b]; i < bucket_start[b + 1]; ++i) {
            const Op& op = sorted[i];
            if (op.insert) {
                auto& holders = shard.map[op.hash];
                bool found = false;
                for (Holder& h : holders) {
                    if (h.endpoint == endpoint) {
                        h.tick = op.tick;
                        found = true;
                        break;
                    }
                }
                if (!found) {
                    holders.push_back(Holder{endpoint, op.tick});
                    ++live_delta;
                }
            } else {
                auto it = shard.map.find(op.hash);
                if (it == shard.map.end()) continue;
                auto& holders = it->second;
                for (size_t j = 0; j < holders.size(); ++j) {
                    if (holders[j].endpoint != endpoint) continue;
                    if (holders[j].tick == op.tick) {
                        holders[j] = holders.back();
                        holders.pop_back();
                        if (holders.empty()) shard.map.erase(it);
                        --live_delta;
                    }
                    break;
                }
            }
        }
    }
    if (live_delta >= 0) {
        l->live.fetch_add(size_t(live_delta), std::memory_order_relaxed);
        entries_.fetch_add(size_t(live_delta), std::memory_order_relaxed);
    } else {
        l->live.fetch_sub(size_t(-live_delta), std::memory_order_relaxed);
        entries_.fetch_sub(size_t(-live_delta), std::memory_order_relaxed);
    }

    // Stale records (re-touched hashes) waste ring slots; when they are the
    // majority of a full ring, drop them so the endpoint keeps ~capacity live pairs.
    if (l->size == l->capacity && l->live.load(std::memory_order_relaxed) * 2 < l->size) {
        std::vector<Record> kept;
        kept.reserve(l->ring.size());
        for (size_t i = 0; i < l->size; ++i) {
            const Record& r = l->at(i);
            Shard& s = shard_for(r.hash);
            std::lock_guard shard_lock(s.mu);
            auto it = s.map.find(r.hash);
            if (it == s.map.end()) continue;
            for (const Holder& h : it->second)
                if (h.endpoint == endpoint && h.tick == r.tick) { kept.push_back(r); break; }
        }
        size_t live_records = kept.size();
        kept.resize(l->ring.size());
        l->ring = std::move(kept);
        l->head = 0;
        l->size = live_records;
    }
}

bool PrefixIndex::holds(EndpointId endpoint, uint64_t hash) const {
    Shard& s = shard_for(hash);
    std::lock_guard lock(s.mu);
    auto it = s.map.find(hash);
    if (it == s.map.end()) return false;
    for (const Holder& h : it->second)
        if (h.endpoint == endpoint) return true;
    return false;
}

namespace {

// Copies the holders of `hash` (up to `max`) into `out`; returns the count.
template <class Map>
size_t copy_holders(std::mutex& mu, const Map& map, uint64_t hash, EndpointId* out, size_t max) {
    std::lock_guard lock(mu);
    auto it = map.find(hash);
    if (it == map.end()) return 0;
    size_t n = std::min(max, it->second.size());
    for (size_t i = 0; i < n; ++i) out[i] = it->second[i].endpoint;
    return n;
}

}  // namespace

size_t PrefixIndex::longest_matches(std::span<const uint64_t> hashes, std::span<PrefixMatch> out) const {
    if (hashes.empty() || out.empty()) return 0;
    EndpointId probe[kMaxProbeHolders];
    const Shard& first = shard_for(hashes[0]);
    size_t k = copy_holders(first.mu, first.map, hashes[0], probe, std::min(out.size(), kMaxProbeHolders));
    if (k == 0) return 0;
    for (size_t i = 0; i < k; ++i) out[i] = PrefixMatch{probe[i], 1};
    if (hashes.size() == 1) return k;

    // Binary search for every holder at once: a group of endpoints known to
    // hold h[lo] and whose answer lies in [lo, hi] is split by one probe of
    // h[mid] into those holding it and those not. Endpoints with the same
    // match length share every probe, so a prefix held by many endpoints
    // costs about as much as one held by a single endpoint.
    struct Group { uint32_t begin, end, lo, hi; };
    Group stack[64];
    size_t depth = 0;
    stack[depth++] = Group{0, uint32_t(k), 0, uint32_t(hashes.size() - 1)};
    while (depth > 0) {
        Group g = stack[--depth];
        if (g.lo == g.hi) {
            for (uint32_t i = g.begin; i < g.end; ++i) out[i].blocks = g.lo + 1;
            continue;
        }
        uint32_t mid = g.lo + (g.hi - g.lo + 1) / 2;
        const Shard& s = shard_for(hashes[mid]);
        size_t m = copy_holders(s.mu, s.map, hashes[mid], probe, kMaxProbeHolders);
        // Partition out[begin, end): holders of h[mid] first.
        uint32_t split = g.begin;
        for (uint32_t i = g.begin; i < g.end; ++i) {
            bool has = false;
            for (size_t j = 0; j < m && !has; ++j) has = probe[j] == out[i].endpoint;
            if (has) std::swap(out[i], out[split++]);
        }
        // Depth stays <= 2 * log2(blocks) + 1 < 64: each push halves the range.
        if (split > g.begin) stack[depth++] = Group{g.begin, split, mid, g.hi};
        if (split < g.end) stack[depth++] = Group{split, g.end, g.lo, mid - 1};
    }
    return k;
}

size_t PrefixIndex::longest_matches_linear(std::span<const uint64_t> hashes, std::span<PrefixMatch> out) const {
    if (hashes.empty() || out.empty()) return 0;
    EndpointId probe[kMaxProbeHolders];
    const Shard& first = shard_for(hashes[0]);
    size_t k = copy_holders(first.mu, first.map, hashes[0], probe, std::min(out.size(), kMaxProbeHolders));
    for (size_t i = 0; i < k; ++i) {
        uint32_t blocks = 1;
        while (blocks < hashes.size() && holds(probe[i], hashes[blocks])) ++blocks;
        out[i] = PrefixMatch{probe[i], blocks};
    }
    return k;
}

void PrefixIndex::set_capacity(EndpointId endpoint, size_t blocks) {
    EndpointLru* l = lru_or_create(endpoint);
    if (!l) return;
    std::lock_guard lock(l->mu);
    l->capacity = blocks;
    while (l->size > blocks) evict_oldest(endpoint, *l);
    if (l->ring.size() > blocks && blocks > 0) {
        std::vector<Record> smaller;
        smaller.reserve(blocks);
        for (size_t i = 0; i < l->size; ++i) smaller.push_back(l->at(i));
        smaller.resize(std::max<size_t>(blocks, 1));
        l->ring = std::move(smaller);
        l->head = 0;
    } else if (blocks == 0) {
        l->ring.clear();
        l->ring.shrink_to_fit();
        l->head = 0;
    }
}

void PrefixIndex::purge(EndpointId endpoint) {
    EndpointLru* l = lru(endpoint);
    if (!l) return;
    std::lock_guard lock(l->mu);
    for (size_t i = 0; i < l->size; ++i) {
        if (erase_holder(l->at(i).hash, endpoint, 0, true)) {
            l->live.fetch_sub(1, std::memory_order_relaxed);
            entries_.fetch_sub(1, std::memory_order_relaxed);
        }
    }
    l->ring.clear();
    l->ring.shrink_to_fit();
    l->head = 0;
    l->size = 0;
    l->capacity = default_capacity_;  // a returning address starts afresh
}

size_t PrefixIndex::entries(EndpointId endpoint) const {
    EndpointLru* l = lru(endpoint);
    return l ? l->live.load(std::memory_order_relaxed) : 0;
}

size_t PrefixIndex::capacity(EndpointId endpoint) const {
    EndpointLru* l = lru(endpoint);
    if (!l) return default_capacity_;
    std::lock_guard lock(l->mu);
    return l->capacity;
}

PrefixIndexStats PrefixIndex::stats() const {
    PrefixIndexStats st;
    st.entries = entries_.load(std::memory_order_relaxed);
    for (size_t i = 0; i < kShards; ++i) {
        std::lock_guard lock(shards_[i].mu);
        st.distinct_hashes += shards_[i].map.size();
        st.memory_bytes += shards_[i].map.bucket_count() * sizeof(void*);
    }
    // Node: key + vector header + next pointer + cached hash; holders 16 bytes each.
    st.memory_bytes += st.distinct_hashes * (sizeof(uint64_t) + sizeof(std::pmr::vector<Holder>) + 2 * sizeof(void*));
    st.memory_bytes += st.entries * sizeof(Holder);
    for (size_t i = 0; i < max_endpoints_; ++i) {
        EndpointLru* l = lrus_[i].load(std::memory_order_acquire);
        if (!l) continue;
        std::lock_guard lock(l->mu);
        st.memory_bytes += sizeof(EndpointLru) + l->ring.capacity() * sizeof(Record);
    }
    return st;
}

}  // namespace ringgate::sched
