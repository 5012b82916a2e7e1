#include "ringgate/sched/prefix_index.h"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <random>
#include <vector>

#include <sys/mman.h>

namespace ringgate::sched {
namespace {

constexpr uint32_t kNone = UINT32_MAX;
constexpr size_t kShards = 64;
constexpr size_t kMaxProbeHolders = 1024;

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// Zeroed memory for the fixed tables: anonymous pages, on huge pages where the kernel
// allows (every probe lands at a random place in tens of MB, and 4 KB pages would add a
// TLB miss to each).
//
// `populate`: the pages are faulted in now, not at first touch. The hash tables need it:
// a prompt writes its pairs at random slots, so a young gateway's first requests each
// landed on dozens of untouched huge pages and zeroed 2 MB for each inline, ~60 MB in all
// across the first 16 requests of 200 KB prompts: 70-120 ms of added latency on a fresh
// gateway (perf: clear_page_erms under do_huge_pmd_wp_page from apply_ops). The block
// pools are handed out in order, so theirs are touched one page at a time and stay lazy
// (the resident size follows use).
void* map_zeroed(size_t bytes, bool populate) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  ::madvise(p, bytes, MADV_HUGEPAGE);
#endif
  if (populate) {
#ifdef MADV_POPULATE_WRITE
    if (::madvise(p, bytes, MADV_POPULATE_WRITE) == 0) return p;
#endif
    // Older kernels (before 5.14): a write per page faults it in.
    for (size_t at = 0; at < bytes; at += 4096) static_cast<volatile char*>(p)[at] = 0;
  }
  return p;
}

void unmap(void* p, size_t bytes) {
  if (p) ::munmap(p, bytes);
}

}  // namespace

// One recorded block of an endpoint: its hash, the block before it in the same
// segment (kNone for the segment's first), and its segment. Free blocks are
// linked through `prev`.
struct PrefixIndex::Block {
  uint64_t hash;
  uint32_t prev;
  uint32_t segment;
};

// The blocks one recording added, from `tail` (deepest) back through Block::prev;
// `parent` is the segment holding the block it hangs from (kNone: the chain's
// root, its first block is h0). newer/older: the endpoint's LRU list.
struct PrefixIndex::Segment {
  uint32_t tail;
  uint32_t parent;
  uint32_t newer;
  uint32_t older;
};

struct PrefixIndex::Endpoint {
  std::mutex mu;
  uint32_t newest = kNone;
  uint32_t oldest = kNone;
  size_t segments = 0;
  size_t used = 0;              // blocks held
  size_t requested = 0;         // capacity asked for (default or set_capacity)
  bool known = false;           // counted in known_endpoints_
  std::atomic<size_t> live{0};  // == used, for lock-free readers
  std::atomic<size_t> cap{0};   // effective capacity at the last write
};

// A fixed open-addressing table (linear probing, backward-shift deletion) in 64
// shards of equal size, each behind its own mutex. An entry is (hash, endpoint)
// -> value; entries are placed by a key mixing the hash with the endpoint
// (pair table) or the hash alone (root directory: all holders of a hash then
// sit in one probe run).
class PrefixIndex::Table {
 public:
  struct Entry {
    uint64_t hash;
    uint32_t endpoint1;  // endpoint + 1; 0 = empty (zero pages)
    uint32_t value;
  };
  struct alignas(64) Shard {
    std::mutex mu;
    size_t count = 0;
  };

  Table(size_t slots, uint64_t secret, bool by_hash)
      : slots_(std::max<size_t>(slots / kShards, 16)),
        max_count_(slots_ * 7 / 8),
        secret_(secret),
        by_hash_(by_hash),
        shards_(new Shard[kShards]) {
    entries_ = static_cast<Entry*>(map_zeroed(slots_ * kShards * sizeof(Entry), /*populate=*/true));
  }
  ~Table() { unmap(entries_, slots_ * kShards * sizeof(Entry)); }
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  static size_t bytes(size_t slots) { return std::max<size_t>(slots / kShards, 16) * kShards * sizeof(Entry); }

  uint64_t key(uint64_t hash, EndpointId endpoint) const {
    return by_hash_ ? mix(hash ^ secret_) : mix(hash ^ secret_ ^ ((uint64_t(endpoint) + 1) * 0x9E3779B97F4A7C15ULL));
  }
  static size_t shard_of(uint64_t key) { return size_t(key >> 58); }
  std::mutex& mutex(size_t shard) const { return shards_[shard].mu; }

  // The calls below require the shard's mutex.
  uint32_t find(uint64_t key, uint64_t hash, EndpointId endpoint) const {
    const Entry* e = shard_entries(key);
    for (size_t i = home(key), n = 0; n < slots_; ++n, i = next(i)) {
      if (e[i].endpoint1 == 0) return kNone;
      if (e[i].hash == hash && e[i].endpoint1 == endpoint + 1) return e[i].value;
    }
    return kNone;
  }
  bool insert(uint64_t key, uint64_t hash, EndpointId endpoint, uint32_t value) {
    Shard& s = shards_[shard_of(key)];
    Entry* e = shard_entries(key);
    for (size_t i = home(key);; i = next(i)) {
      if (e[i].endpoint1 == 0) {
        if (s.count >= max_count_) return false;
        e[i] = Entry{hash, endpoint + 1, value};
        ++s.count;
        return true;
      }
      if (e[i].hash == hash && e[i].endpoint1 == endpoint + 1) {
        e[i].value = value;
        return true;
      }
    }
  }
  bool erase(uint64_t key, uint64_t hash, EndpointId endpoint) {
    Shard& s = shards_[shard_of(key)];
    Entry* e = shard_entries(key);
    size_t i = home(key);
    for (;; i = next(i)) {
      if (e[i].endpoint1 == 0) return false;
      if (e[i].hash == hash && e[i].endpoint1 == endpoint + 1) break;
    }
    // Backward shift: pull later entries of the run into the hole when the
    // hole lies between their home and their slot.
    for (size_t j = next(i);; j = next(j)) {
      if (e[j].endpoint1 == 0) break;
      size_t h = home(key_of(e[j]));
      if (distance(h, j) >= distance(i, j)) {
        e[i] = e[j];
        i = j;
      }
    }
    e[i] = Entry{0, 0, 0};
    --s.count;
    return true;
  }
  // Calls f(endpoint) for each entry of `hash` (root directory) until f returns false.
  template <class F>
  void for_each_endpoint(uint64_t key, uint64_t hash, F&& f) const {
    const Entry* e = shard_entries(key);
    for (size_t i = home(key), n = 0; n < slots_; ++n, i = next(i)) {
      if (e[i].endpoint1 == 0) return;
      if (e[i].hash == hash && !f(EndpointId(e[i].endpoint1 - 1))) return;
    }
  }
  size_t count(size_t shard) const { return shards_[shard].count; }
  // Where a probe for `key` starts (to prefetch it). The caller issues the
  // __builtin_prefetch itself: inside a helper, GCC 12 deems the helper pure
  // and deletes every call to it (it did here: apply_ops had no prefetch).
  const Entry* home_slot(uint64_t key) const { return shard_entries(key) + home(key); }

 private:
  Entry* shard_entries(uint64_t key) const { return entries_ + shard_of(key) * slots_; }
  size_t home(uint64_t key) const { return size_t((unsigned __int128)(key << 6) * slots_ >> 64); }
  size_t next(size_t i) const { return i + 1 == slots_ ? 0 : i + 1; }
  size_t distance(size_t from, size_t to) const { return to >= from ? to - from : to + slots_ - from; }
  uint64_t key_of(const Entry& e) const { return key(e.hash, EndpointId(e.endpoint1 - 1)); }

  size_t slots_;      // per shard
  size_t max_count_;  // per shard: inserts fail beyond (7/8 full)
  uint64_t secret_;
  bool by_hash_;
  Entry* entries_ = nullptr;
  std::unique_ptr<Shard[]> shards_;
};

namespace {

enum class OpKind : uint8_t { InsertPair, ErasePair, InsertRoot, EraseRoot };

struct Op {
  uint64_t hash;
  uint64_t key;
  uint32_t value;  // InsertPair: the block
  uint32_t pos;    // InsertPair: chain position (for truncation on failure)
  OpKind kind;
};

bool is_root(const Op& op) { return op.kind == OpKind::InsertRoot || op.kind == OpKind::EraseRoot; }

// Per-thread scratch, reused: a recording allocates only when a thread sees a
// longer prompt than ever before.
struct Scratch {
  std::vector<Op> ops, sorted;  // grown once to the longest prompt seen
  size_t op_count = 0;          // ops in use
  void push(const Op& op) {
    if (op_count == ops.size()) ops.resize(ops.size() * 2 + 256);
    ops[op_count++] = op;
  }
  std::vector<uint32_t> evicted;  // block ids freed by this recording
  std::vector<uint32_t> fresh;    // block ids for the new blocks
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

PrefixIndex::PrefixIndex(size_t default_capacity, size_t max_endpoints, size_t memory_bytes)
    : default_capacity_(default_capacity),
      max_endpoints_(std::min<size_t>(max_endpoints, kNoEndpoint)),
      budget_bytes_(memory_bytes),
      secret_(std::random_device{}() | (uint64_t(std::random_device{}()) << 32)),
      free_block_(kNone),
      free_segment_(kNone),
      endpoints_(new std::atomic<Endpoint*>[max_endpoints_]) {
  for (size_t i = 0; i < max_endpoints_; ++i) endpoints_[i].store(nullptr, std::memory_order_relaxed);
  // Endpoint records (at most max_endpoints) and the shard headers come out of
  // the budget first; the rest is blocks.
  size_t fixed = max_endpoints_ * (sizeof(std::atomic<Endpoint*>) + sizeof(Endpoint)) +
                 2 * kShards * sizeof(Table::Shard) + 2 * kShards * 16 * sizeof(Table::Entry);
  size_t room = memory_bytes > fixed ? memory_bytes - fixed : 0;
  // Block ids are 32-bit (kNone reserved); a budget never rounds down to nothing.
  pool_blocks_ = std::clamp<size_t>(room / kBytesPerBlock, 64, size_t(kNone) - 1);
  blocks_ = static_cast<Block*>(map_zeroed(pool_blocks_ * sizeof(Block), /*populate=*/false));
  segments_ = static_cast<Segment*>(map_zeroed(pool_blocks_ * sizeof(Segment), /*populate=*/false));
  // Pair table at most half full; the directory holds at most one root per block.
  pairs_ = std::make_unique<Table>(2 * pool_blocks_, secret_, false);
  roots_ = std::make_unique<Table>(pool_blocks_ + pool_blocks_ / 4, mix(secret_), true);
  static_assert(sizeof(Block) + sizeof(Segment) + 2 * sizeof(Table::Entry) + sizeof(Table::Entry) * 5 / 4 <=
                kBytesPerBlock);
  allocated_bytes_ = max_endpoints_ * sizeof(std::atomic<Endpoint*>) +
                     pool_blocks_ * (sizeof(Block) + sizeof(Segment)) + Table::bytes(2 * pool_blocks_) +
                     Table::bytes(pool_blocks_ + pool_blocks_ / 4) + 2 * kShards * sizeof(Table::Shard);
}

PrefixIndex::~PrefixIndex() {
  for (size_t i = 0; i < max_endpoints_; ++i) delete endpoints_[i].load(std::memory_order_relaxed);
  unmap(blocks_, pool_blocks_ * sizeof(Block));
  unmap(segments_, pool_blocks_ * sizeof(Segment));
}

PrefixIndex::Endpoint* PrefixIndex::endpoint_state(EndpointId endpoint) const {
  if (endpoint >= max_endpoints_) return nullptr;
  return endpoints_[endpoint].load(std::memory_order_acquire);
}

PrefixIndex::Endpoint* PrefixIndex::endpoint_state_or_create(EndpointId endpoint) {
  if (endpoint >= max_endpoints_) return nullptr;
  Endpoint* existing = endpoints_[endpoint].load(std::memory_order_acquire);
  if (existing) return existing;
  auto* fresh = new Endpoint();
  fresh->requested = default_capacity_;
  if (endpoints_[endpoint].compare_exchange_strong(existing, fresh, std::memory_order_acq_rel)) {
    states_.fetch_add(1, std::memory_order_relaxed);
    return fresh;
  }
  delete fresh;  // another thread created it first
  return existing;
}

// An endpoint's capacity: what it asked for, at most an equal share of the pool.
size_t PrefixIndex::share(size_t requested) const {
  size_t known = std::max<size_t>(known_endpoints_.load(std::memory_order_relaxed), 1);
  return std::min(requested, pool_blocks_ / known);
}

void PrefixIndex::make_known(Endpoint& e) {
  if (e.known) return;
  e.known = true;
  known_endpoints_.fetch_add(1, std::memory_order_relaxed);
}

uint32_t PrefixIndex::probe(EndpointId endpoint, uint64_t hash) const {
  uint64_t key = pairs_->key(hash, endpoint);
  std::lock_guard lock(pairs_->mutex(Table::shard_of(key)));
  return pairs_->find(key, hash, endpoint);
}

// Leading blocks of `hashes` the endpoint holds (binary search; its set is
// prefix-closed); last_block: the block record of the deepest one.
size_t PrefixIndex::held_prefix(EndpointId endpoint, std::span<const uint64_t> hashes, uint32_t& last_block) const {
  last_block = kNone;
  if (hashes.empty()) return 0;
  uint32_t b = probe(endpoint, hashes[0]);
  if (b == kNone) return 0;
  size_t lo = 0, hi = hashes.size() - 1;
  while (lo < hi) {
    size_t mid = lo + (hi - lo + 1) / 2;
    uint32_t m = probe(endpoint, hashes[mid]);
    if (m != kNone) {
      lo = mid;
      b = m;
    } else {
      hi = mid - 1;
    }
  }
  last_block = b;
  return lo + 1;
}

void PrefixIndex::unlink_segment(Endpoint& e, uint32_t s) {
  Segment& g = segments_[s];
  if (g.newer != kNone)
    segments_[g.newer].older = g.older;
  else
    e.newest = g.older;
  if (g.older != kNone)
    segments_[g.older].newer = g.newer;
  else
    e.oldest = g.newer;
  g.newer = g.older = kNone;
}

// Moves `segment` and its ancestors to the front of the LRU, deepest first, so
// that every parent stays newer than its children. Counts them.
void PrefixIndex::touch_path(Endpoint& e, uint32_t segment, size_t& path_segments) {
  path_segments = 0;
  for (uint32_t s = segment; s != kNone; s = segments_[s].parent) {
    if (e.newest != s) {
      unlink_segment(e, s);
      segments_[s].older = e.newest;
      segments_[s].newer = kNone;
      if (e.newest != kNone) segments_[e.newest].newer = s;
      e.newest = s;
      if (e.oldest == kNone) e.oldest = s;
    }
    ++path_segments;
  }
}

// Pops the deepest block of the oldest segment (a leaf: every child is older
// than its parent) unless only the `protected_segments` newest remain.
// Queues the table updates; the block goes to the scratch's evicted list.
bool PrefixIndex::evict_one(EndpointId id, Endpoint& e, size_t protected_segments) {
  if (e.segments <= protected_segments || e.oldest == kNone) return false;
  Scratch& sc = scratch();
  uint32_t s = e.oldest;
  Segment& g = segments_[s];
  uint32_t b = g.tail;
  uint64_t hash = blocks_[b].hash;
  sc.push(Op{hash, pairs_->key(hash, id), 0, 0, OpKind::ErasePair});
  g.tail = blocks_[b].prev;
  if (g.tail == kNone) {
    if (g.parent == kNone) sc.push(Op{hash, roots_->key(hash, id), 0, 0, OpKind::EraseRoot});
    unlink_segment(e, s);
    release_segment(s);
    --e.segments;
  }
  --e.used;
  sc.evicted.push_back(b);
  return true;
}

void PrefixIndex::evict_to(EndpointId id, Endpoint& e, size_t blocks) {
  while (e.used > blocks && evict_one(id, e, 0)) {
  }
}

// Applies the queued table updates grouped by shard (a stable counting sort:
// one lock per shard touched). Inserts and erases in one batch never concern
// the same pair. Returns the lowest chain position whose insert failed (a
// shard full), or SIZE_MAX.
size_t PrefixIndex::apply_ops(EndpointId id) {
  Scratch& sc = scratch();
  if (sc.op_count == 0) return SIZE_MAX;
  std::span<const Op> ops(sc.ops.data(), sc.op_count);
  constexpr size_t kBuckets = 2 * kShards;
  auto bucket = [](const Op& op) { return (is_root(op) ? kShards : 0) + Table::shard_of(op.key); };
  size_t start[kBuckets + 1] = {};
  for (const Op& op : ops) ++start[bucket(op) + 1];
  for (size_t b = 0; b < kBuckets; ++b) start[b + 1] += start[b];
  if (sc.sorted.size() < ops.size()) sc.sorted.resize(ops.size());
  size_t fill[kBuckets];
  std::copy(start, start + kBuckets, fill);
  for (const Op& op : ops) sc.sorted[fill[bucket(op)]++] = op;

  size_t failed = SIZE_MAX;
  for (size_t b = 0; b < kBuckets; ++b) {
    if (start[b] == start[b + 1]) continue;
    Table& t = b < kShards ? *pairs_ : *roots_;
    std::lock_guard lock(t.mutex(b % kShards));
    for (size_t i = start[b]; i < start[b + 1]; ++i) {
      // Each slot is a cache miss: have the ones a few ops ahead (in this shard
      // or the next ones) on their way.
      if (i + 16 < ops.size()) {
        const Op& ahead = sc.sorted[i + 16];
        __builtin_prefetch((is_root(ahead) ? *roots_ : *pairs_).home_slot(ahead.key), 1);
      }
      const Op& op = sc.sorted[i];
      switch (op.kind) {
        case OpKind::InsertPair:
          if (!t.insert(op.key, op.hash, id, op.value)) failed = std::min<size_t>(failed, op.pos);
          break;
        case OpKind::InsertRoot:
          if (t.insert(op.key, op.hash, id, 0))
            root_entries_.fetch_add(1, std::memory_order_relaxed);
          else
            failed = 0;
          break;
        case OpKind::ErasePair:
          t.erase(op.key, op.hash, id);
          break;
        case OpKind::EraseRoot:
          if (t.erase(op.key, op.hash, id)) root_entries_.fetch_sub(1, std::memory_order_relaxed);
          break;
      }
    }
  }
  sc.op_count = 0;
  return failed;
}

size_t PrefixIndex::take_blocks(size_t want, uint32_t* out) {
  std::lock_guard lock(pool_mu_);
  size_t n = 0;
  while (n < want && free_block_ != kNone) {
    out[n++] = free_block_;
    free_block_ = blocks_[free_block_].prev;
  }
  while (n < want && fresh_blocks_ < pool_blocks_) out[n++] = uint32_t(fresh_blocks_++);
  return n;
}

void PrefixIndex::release_blocks(std::span<const uint32_t> blocks) {
  if (blocks.empty()) return;
  std::lock_guard lock(pool_mu_);
  for (uint32_t b : blocks) {
    blocks_[b].prev = free_block_;
    free_block_ = b;
  }
}

uint32_t PrefixIndex::take_segment() {
  std::lock_guard lock(pool_mu_);
  if (free_segment_ != kNone) {
    uint32_t s = free_segment_;
    free_segment_ = segments_[s].older;
    return s;
  }
  // Live segments never outnumber live blocks, and the caller holds at least one
  // block not yet in a segment: the pool (as many segments as blocks) has one.
  if (fresh_segments_ >= pool_blocks_) return kNone;
  return uint32_t(fresh_segments_++);
}

void PrefixIndex::release_segment(uint32_t s) {
  std::lock_guard lock(pool_mu_);
  segments_[s].older = free_segment_;
  free_segment_ = s;
}

void PrefixIndex::on_routed(EndpointId id, std::span<const uint64_t> hashes) {
  Endpoint* ep = endpoint_state_or_create(id);
  if (!ep || hashes.empty()) return;
  Endpoint& e = *ep;
  std::lock_guard lock(e.mu);
  make_known(e);
  Scratch& sc = scratch();
  sc.op_count = 0;
  sc.evicted.clear();
  const size_t used_before = e.used;
  size_t cap = share(e.requested);
  e.cap.store(cap, std::memory_order_relaxed);
  evict_to(id, e, cap);  // the share shrank since the last recording (more endpoints)

  size_t n = std::min(hashes.size(), cap);
  uint32_t attach = kNone;
  size_t m = n ? held_prefix(id, hashes.first(n), attach) : 0;
  uint32_t parent = kNone;
  size_t path = 0;
  if (m > 0) {
    parent = blocks_[attach].segment;
    touch_path(e, parent, path);
  }

  // Slots for the new blocks: free pool first (up to the capacity), then the
  // endpoint's own oldest blocks, never those of the prefix being extended.
  size_t want = n - m;
  if (sc.fresh.size() < want) sc.fresh.resize(want);
  size_t got = want ? take_blocks(std::min(want, cap - std::min(cap, e.used)), sc.fresh.data()) : 0;
  while (got < want && evict_one(id, e, path)) {
    sc.fresh[got++] = sc.evicted.back();
    sc.evicted.pop_back();
  }

  bool extend = got > 0 && parent != kNone && segments_[parent].tail == attach;
  uint32_t seg = extend ? parent : got > 0 ? take_segment() : kNone;
  if (got > 0 && seg == kNone) {  // unreachable (see take_segment): record nothing new
    release_blocks(std::span<const uint32_t>(sc.fresh.data(), got));
    got = 0;
  }
  if (got > 0) {
    uint32_t prev = attach;  // extending: the prompt continues the segment's chain in place
    if (!extend) {
      ++e.segments;
      Segment& g = segments_[seg];
      g.parent = parent;
      prev = kNone;
      if (parent == kNone) {  // a new root: newest
        g.newer = kNone;
        g.older = e.newest;
        if (e.newest != kNone) segments_[e.newest].newer = seg;
        e.newest = seg;
        if (e.oldest == kNone) e.oldest = seg;
      } else {  // just behind its parent: older than it, newer than the rest
        Segment& p = segments_[parent];
        g.newer = parent;
        g.older = p.older;
        if (p.older != kNone)
          segments_[p.older].newer = seg;
        else
          e.oldest = seg;
        p.older = seg;
      }
    }
    for (size_t i = 0; i < got; ++i) {
      uint32_t b = sc.fresh[i];
      uint64_t hash = hashes[m + i];
      blocks_[b] = Block{hash, prev, seg};
      sc.push(Op{hash, pairs_->key(hash, id), b, uint32_t(m + i), OpKind::InsertPair});
      prev = b;
    }
    segments_[seg].tail = prev;
    if (m == 0) sc.push(Op{hashes[0], roots_->key(hashes[0], id), 0, 0, OpKind::InsertRoot});
    e.used += got;
  }
  size_t failed = apply_ops(id);

  if (failed != SIZE_MAX && got > 0) {
    // A table shard was full: drop the new blocks from the failed position
    // on, so the endpoint's set stays prefix-closed.
    size_t drop = m + got - std::max(failed, m);
    for (size_t i = 0; i < drop; ++i) {
      Segment& g = segments_[seg];
      uint32_t b = g.tail;
      uint64_t hash = blocks_[b].hash;
      sc.push(Op{hash, pairs_->key(hash, id), 0, 0, OpKind::ErasePair});
      g.tail = blocks_[b].prev;
      sc.evicted.push_back(b);
      --e.used;
      if (g.tail == kNone) {
        if (g.parent == kNone) sc.push(Op{hash, roots_->key(hash, id), 0, 0, OpKind::EraseRoot});
        unlink_segment(e, seg);
        release_segment(seg);
        --e.segments;
        break;
      }
    }
    apply_ops(id);
  }
  release_blocks(sc.evicted);
  sc.evicted.clear();
  e.live.store(e.used, std::memory_order_relaxed);
  if (e.used >= used_before)
    entries_.fetch_add(e.used - used_before, std::memory_order_relaxed);
  else
    entries_.fetch_sub(used_before - e.used, std::memory_order_relaxed);
}

bool PrefixIndex::holds(EndpointId endpoint, uint64_t hash) const { return probe(endpoint, hash) != kNone; }

size_t PrefixIndex::longest_matches(std::span<const uint64_t> hashes, std::span<PrefixMatch> out) const {
  if (hashes.empty() || out.empty()) return 0;
  size_t k = 0;
  size_t room = std::min(out.size(), kMaxProbeHolders);
  {
    uint64_t key = roots_->key(hashes[0], 0);
    std::lock_guard lock(roots_->mutex(Table::shard_of(key)));
    roots_->for_each_endpoint(key, hashes[0], [&](EndpointId e) {
      out[k++] = PrefixMatch{e, 1};
      return k < room;
    });
  }
  if (hashes.size() == 1) return k;
  // Per holder: binary search over the chain (its set is prefix-closed).
  for (size_t i = 0; i < k; ++i) {
    size_t lo = 0, hi = hashes.size() - 1;
    while (lo < hi) {
      size_t mid = lo + (hi - lo + 1) / 2;
      if (probe(out[i].endpoint, hashes[mid]) != kNone)
        lo = mid;
      else
        hi = mid - 1;
    }
    out[i].blocks = uint32_t(std::min<size_t>(lo + 1, UINT32_MAX));
  }
  return k;
}

size_t PrefixIndex::longest_matches_linear(std::span<const uint64_t> hashes, std::span<PrefixMatch> out) const {
  if (hashes.empty() || out.empty()) return 0;
  size_t k = 0;
  size_t room = std::min(out.size(), kMaxProbeHolders);
  {
    uint64_t key = roots_->key(hashes[0], 0);
    std::lock_guard lock(roots_->mutex(Table::shard_of(key)));
    roots_->for_each_endpoint(key, hashes[0], [&](EndpointId e) {
      out[k++] = PrefixMatch{e, 1};
      return k < room;
    });
  }
  for (size_t i = 0; i < k; ++i) {
    uint32_t blocks = 1;
    while (blocks < hashes.size() && holds(out[i].endpoint, hashes[blocks])) ++blocks;
    out[i].blocks = blocks;
  }
  return k;
}

void PrefixIndex::set_capacity(EndpointId id, size_t blocks) {
  Endpoint* ep = endpoint_state_or_create(id);
  if (!ep) return;
  Endpoint& e = *ep;
  bool joined = false;
  {
    std::lock_guard lock(e.mu);
    joined = !e.known;
    make_known(e);
    e.requested = blocks;
    trim_locked(id, e);
  }
  // One more endpoint shrinks everyone's share: free it now, not when each next records.
  if (joined) trim_all();
}

void PrefixIndex::trim_all() {
  for (size_t i = 0; i < max_endpoints_; ++i) {
    Endpoint* ep = endpoints_[i].load(std::memory_order_acquire);
    if (!ep) continue;
    std::lock_guard lock(ep->mu);
    trim_locked(EndpointId(i), *ep);
  }
}

// Evicts the endpoint's LRU blocks down to its capacity (its share may have shrunk).
void PrefixIndex::trim_locked(EndpointId id, Endpoint& e) {
  size_t cap = share(e.requested);
  e.cap.store(cap, std::memory_order_relaxed);
  if (e.used <= cap) return;
  Scratch& sc = scratch();
  sc.op_count = 0;
  sc.evicted.clear();
  size_t before = e.used;
  evict_to(id, e, cap);
  apply_ops(id);
  release_blocks(sc.evicted);
  sc.evicted.clear();
  e.live.store(e.used, std::memory_order_relaxed);
  entries_.fetch_sub(before - e.used, std::memory_order_relaxed);
}

void PrefixIndex::purge(EndpointId id) {
  Endpoint* ep = endpoint_state(id);
  if (!ep) return;
  Endpoint& e = *ep;
  std::lock_guard lock(e.mu);
  Scratch& sc = scratch();
  sc.op_count = 0;
  sc.evicted.clear();
  size_t before = e.used;
  evict_to(id, e, 0);
  apply_ops(id);
  release_blocks(sc.evicted);
  sc.evicted.clear();
  e.live.store(0, std::memory_order_relaxed);
  entries_.fetch_sub(before, std::memory_order_relaxed);
  e.requested = default_capacity_;  // a returning address starts afresh
  if (e.known) {
    e.known = false;
    known_endpoints_.fetch_sub(1, std::memory_order_relaxed);
  }
}

size_t PrefixIndex::entries(EndpointId endpoint) const {
  Endpoint* e = endpoint_state(endpoint);
  return e ? e->live.load(std::memory_order_relaxed) : 0;
}

size_t PrefixIndex::capacity(EndpointId endpoint) const {
  Endpoint* e = endpoint_state(endpoint);
  size_t requested = default_capacity_;
  if (e) {
    std::lock_guard lock(e->mu);
    requested = e->requested;
  }
  return share(requested);
}

size_t PrefixIndex::capacity_relaxed(EndpointId endpoint) const {
  Endpoint* e = endpoint_state(endpoint);
  return e ? e->cap.load(std::memory_order_relaxed) : 0;
}

PrefixIndexStats PrefixIndex::stats() const {
  PrefixIndexStats st;
  st.entries = entries_.load(std::memory_order_relaxed);
  st.capacity_blocks = pool_blocks_;
  st.budget_bytes = budget_bytes_;
  st.memory_bytes = allocated_bytes_ + states_.load(std::memory_order_relaxed) * sizeof(Endpoint);
  return st;
}

}  // namespace ringgate::sched
