#include "ringgate/sched/prefix_index.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>

#include <unistd.h>
#include <new>
#include <map>
#include <random>
#include <thread>
#include <vector>

using namespace ringgate::sched;

// Counts every allocation of this test binary (the no-allocation test reads it).
namespace {
std::atomic<size_t> g_allocations{0};
}
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace {

// A chain of n hashes; chains from the same family share their first `shared`.
std::vector<uint64_t> chain(uint64_t family, uint64_t variant, size_t shared, size_t n) {
  std::vector<uint64_t> c(n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t x = i < shared ? (family << 32) ^ i : (family << 32) ^ (variant << 16) ^ i ^ 0xabcdef;
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ULL;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dULL;
    x ^= x >> 33;
    c[i] = x;
  }
  return c;
}

std::map<EndpointId, uint32_t> as_map(const std::vector<PrefixMatch>& m, size_t n) {
  std::map<EndpointId, uint32_t> r;
  for (size_t i = 0; i < n; ++i) r[m[i].endpoint] = m[i].blocks;
  return r;
}

std::map<EndpointId, uint32_t> matches(const PrefixIndex& idx, const std::vector<uint64_t>& h, bool linear = false) {
  std::vector<PrefixMatch> out(64);
  size_t n = linear ? idx.longest_matches_linear(h, out) : idx.longest_matches(h, out);
  return as_map(out, n);
}

}  // namespace

TEST_CASE("index: a server's share is twice its KV, in the index's 64-byte blocks") {
  using ringgate::sched::kv_index_capacity;
  CHECK(kv_index_capacity(1000, 16, 64) == 2000);   // vLLM's default block: one of the index's
  CHECK(kv_index_capacity(1000, 64, 64) == 8000);   // llm-d's 64-token blocks: four each
  CHECK(kv_index_capacity(1000, 0, 64) == 2000);    // block size unreported: 16
  CHECK(kv_index_capacity(1000, 16, 128) == 1000);  // scheduler.prefixBlockBytes 128
  CHECK(kv_index_capacity(0, 16, 64) == 0);
}

TEST_CASE("index: longest match per endpoint") {
  PrefixIndex idx(1000, 16);
  auto a = chain(1, 1, 0, 40);
  idx.on_routed(0, std::span(a).first(10));
  idx.on_routed(1, std::span(a).first(25));
  auto m = matches(idx, a);
  CHECK(m.size() == 2);
  CHECK(m[0] == 10);
  CHECK(m[1] == 25);
  CHECK(matches(idx, chain(2, 1, 0, 40)).empty());
  CHECK(idx.entries(0) == 10);
  CHECK(idx.entries(1) == 25);
  CHECK(idx.stats().entries == 35);
  CHECK(idx.stats().capacity_blocks >= 35);
  CHECK(idx.stats().memory_bytes > 0);
  // Single-block request.
  CHECK(matches(idx, std::vector<uint64_t>{a[0]}).size() == 2);
  CHECK(matches(idx, {}).empty());
}

TEST_CASE("index: re-touching does not duplicate entries") {
  PrefixIndex idx(100, 4);
  auto a = chain(1, 1, 0, 20);
  for (int i = 0; i < 10; ++i) idx.on_routed(2, a);
  CHECK(idx.entries(2) == 20);
  CHECK(matches(idx, a)[2] == 20);
}

TEST_CASE("index: LRU eviction drops the least recently routed prefix, deepest blocks first") {
  PrefixIndex idx(30, 4);
  auto a = chain(1, 0, 0, 20);
  auto b = chain(2, 0, 0, 20);
  idx.on_routed(0, a);
  idx.on_routed(0, b);  // 40 > 30: a's 10 deepest blocks go
  CHECK(idx.entries(0) == 30);
  CHECK(matches(idx, b)[0] == 20);
  CHECK(matches(idx, a)[0] == 10);
  CHECK(matches(idx, a, true)[0] == 10);
  idx.on_routed(0, a);  // a is now the newest: b loses its tail
  CHECK(matches(idx, a)[0] == 20);
  CHECK(matches(idx, b)[0] == 10);
}

TEST_CASE("index: a chain longer than the capacity keeps its leading blocks") {
  PrefixIndex idx(8, 4);
  auto a = chain(3, 0, 0, 50);
  idx.on_routed(1, a);
  CHECK(idx.entries(1) == 8);
  CHECK(matches(idx, a)[1] == 8);
}

TEST_CASE("index: set_capacity shrinks (evicting LRU) and purge forgets an endpoint") {
  PrefixIndex idx(100, 4);
  auto a = chain(1, 0, 0, 30);
  idx.on_routed(0, a);
  idx.on_routed(1, a);
  idx.set_capacity(0, 12);
  CHECK(idx.capacity(0) == 12);
  CHECK(idx.entries(0) == 12);
  CHECK(matches(idx, a)[0] == 12);
  idx.purge(1);
  CHECK(idx.entries(1) == 0);
  auto m = matches(idx, a);
  CHECK(m.size() == 1);
  CHECK(m.count(1) == 0);
  CHECK(idx.stats().entries == 12);
  idx.set_capacity(0, 0);
  CHECK(idx.entries(0) == 0);
  idx.on_routed(0, a);  // capacity 0: nothing kept
  CHECK(idx.entries(0) == 0);
  CHECK(idx.stats().entries == 0);
  // Out-of-range ids are ignored, not a crash.
  idx.on_routed(9999, a);
  idx.purge(9999);
  CHECK(idx.entries(9999) == 0);
}

TEST_CASE("index: root_entries counts each prompt root once per endpoint holding it, evictions and purges too") {
  PrefixIndex idx(100, 4);
  CHECK(idx.root_entries() == 0);
  auto a1 = chain(1, 1, 8, 12), a2 = chain(1, 2, 8, 12), b = chain(2, 0, 0, 10);
  idx.on_routed(0, a1);
  CHECK(idx.root_entries() == 1);
  idx.on_routed(0, a2);  // the same root, another branch
  idx.on_routed(0, a1);  // again
  CHECK(idx.root_entries() == 1);
  idx.on_routed(1, a1);  // the same root on another endpoint
  CHECK(idx.root_entries() == 2);
  idx.on_routed(0, b);
  CHECK(idx.root_entries() == 3);
  // Capacity for b alone: the older root's blocks are evicted, its root with its last one.
  idx.set_capacity(0, 10);
  CHECK(idx.entries(0) == 10);
  CHECK(idx.root_entries() == 2);
  idx.set_capacity(0, 9);  // b's chain keeps its first 9 blocks, and so its root
  CHECK(idx.root_entries() == 2);
  idx.purge(1);
  CHECK(idx.root_entries() == 1);
  idx.set_capacity(0, 0);
  CHECK(idx.root_entries() == 0);
}

TEST_CASE("index: binary search equals the linear scan on randomized chains with evictions") {
  std::mt19937_64 rng(12345);
  for (int round = 0; round < 20; ++round) {
    size_t capacity = 20 + rng() % 200;
    PrefixIndex idx(capacity, 8);
    std::vector<std::vector<uint64_t>> pool;
    for (uint64_t f = 0; f < 6; ++f)
      for (uint64_t v = 0; v < 4; ++v) pool.push_back(chain(f, v, 5 + rng() % 60, 10 + rng() % 120));
    for (int step = 0; step < 300; ++step) {
      const auto& c = pool[rng() % pool.size()];
      size_t len = 1 + rng() % c.size();
      idx.on_routed(EndpointId(rng() % 8), std::span(c).first(len));
      if (rng() % 50 == 0) idx.purge(EndpointId(rng() % 8));
      if (rng() % 40 == 0) idx.set_capacity(EndpointId(rng() % 8), 10 + rng() % 200);
      const auto& q = pool[rng() % pool.size()];
      auto bin = matches(idx, q);
      auto lin = matches(idx, q, true);
      REQUIRE(bin == lin);
    }
    for (EndpointId e = 0; e < 8; ++e) CHECK(idx.entries(e) <= idx.capacity(e));
  }
}

TEST_CASE("index: every worker gets the same answer while others write") {
  PrefixIndex idx(10000, 8);
  auto shared = chain(7, 0, 0, 100);
  idx.on_routed(3, shared);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    uint64_t v = 1;
    while (!stop.load()) {
      idx.on_routed(EndpointId(v % 3), chain(8, v, 50, 80));  // other endpoints
      ++v;
    }
  });
  size_t mismatches = 0;
  for (int i = 0; i < 2000; ++i) {
    auto m = matches(idx, shared);
    if (m.size() != 1 || m[3] != 100) ++mismatches;
  }
  stop.store(true);
  writer.join();
  CHECK(mismatches == 0);
}

TEST_CASE("index: concurrent writers to the same endpoints, evictions and purges keep the invariants") {
  PrefixIndex idx(300, 8);
  std::vector<std::vector<uint64_t>> pool;
  for (uint64_t f = 0; f < 8; ++f)
    for (uint64_t v = 0; v < 4; ++v) pool.push_back(chain(f, v, 40, 120));
  std::atomic<bool> stop{false};
  auto writer = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 3000; ++i) {
      const auto& c = pool[rng() % pool.size()];
      idx.on_routed(EndpointId(rng() % 4), std::span(c).first(1 + rng() % c.size()));
    }
  };
  std::atomic<size_t> bad_reads{0};
  std::thread reader([&] {
    std::vector<PrefixMatch> out(16);
    while (!stop.load()) {
      size_t n = idx.longest_matches(pool[3], out);
      for (size_t i = 0; i < n; ++i)
        if (out[i].blocks == 0 || out[i].blocks > pool[3].size() || out[i].endpoint >= 4) bad_reads++;
    }
  });
  std::thread purger([&] {
    for (int i = 0; i < 50 && !stop.load(); ++i) {
      idx.purge(EndpointId(i % 4));
      idx.set_capacity(EndpointId((i + 1) % 4), 100 + size_t(i) * 10);
      std::this_thread::yield();
    }
  });
  std::thread w0(writer, 1), w1(writer, 2);
  w0.join();
  w1.join();
  purger.join();
  stop.store(true);
  reader.join();
  CHECK(bad_reads.load() == 0);
  size_t sum = 0;
  for (EndpointId e = 0; e < 4; ++e) {
    CHECK(idx.entries(e) <= idx.capacity(e));
    sum += idx.entries(e);
  }
  CHECK(idx.stats().entries == sum);
  // Quiescent again: the binary search agrees with the linear scan.
  for (const auto& q : pool) CHECK(matches(idx, q) == matches(idx, q, true));
}

TEST_CASE("index: a memory budget bounds every capacity, however absurd (num_gpu_blocks 1e12, 2^64-1)") {
  constexpr size_t kBudget = 4u << 20;
  PrefixIndex idx(1u << 16, 8, kBudget);
  PrefixIndexStats st = idx.stats();
  CHECK(st.budget_bytes == kBudget);
  CHECK(st.memory_bytes <= kBudget);
  CHECK(st.capacity_blocks > 1000);
  CHECK(st.capacity_blocks * PrefixIndex::kBytesPerBlock <= kBudget);
  idx.set_capacity(0, size_t(2) * 1'000'000'000'000ull);  // control's 2 x num_gpu_blocks
  CHECK(idx.capacity(0) <= st.capacity_blocks);
  CHECK(idx.capacity(0) > 1000);
  idx.set_capacity(1, SIZE_MAX);
  idx.set_capacity(2, SIZE_MAX * 2);  // the doubling wraps to 2^64 - 2
  for (EndpointId e = 0; e < 3; ++e) CHECK(idx.capacity(e) <= st.capacity_blocks / 3);
  // Fill every endpoint far past the pool: memory and entries stay bounded.
  for (uint64_t round = 0; round < 40; ++round)
    for (EndpointId e = 0; e < 3; ++e) idx.on_routed(e, chain(round * 3 + e, 0, 0, 3000));
  size_t sum = 0;
  for (EndpointId e = 0; e < 3; ++e) {
    CHECK(idx.entries(e) <= idx.capacity(e));
    CHECK(idx.entries(e) > idx.capacity(e) / 2);  // full, minus at most one prompt
    sum += idx.entries(e);
  }
  st = idx.stats();
  CHECK(st.entries == sum);
  CHECK(st.entries <= st.capacity_blocks);
  CHECK(st.memory_bytes <= kBudget);
  // The newest prompt of each endpoint is whole and found.
  for (EndpointId e = 0; e < 3; ++e) CHECK(matches(idx, chain(39 * 3 + e, 0, 0, 3000))[e] == 3000);
  // A fourth endpoint gets its share: the others shrink to theirs when they next record.
  idx.set_capacity(3, SIZE_MAX);
  CHECK(idx.capacity(3) <= st.capacity_blocks / 4);
  idx.on_routed(3, chain(999, 0, 0, 3000));
  CHECK(matches(idx, chain(999, 0, 0, 3000))[3] == 3000);
  for (EndpointId e = 0; e < 3; ++e) idx.on_routed(e, chain(1000 + e, 0, 0, 10));
  sum = 0;
  for (EndpointId e = 0; e < 4; ++e) sum += idx.entries(e);
  CHECK(sum <= st.capacity_blocks);
}

TEST_CASE("index: re-recording a chain refreshes it and adds only its new blocks") {
  PrefixIndex idx(100, 4);
  auto doc = chain(5, 0, 60, 60);
  auto other = chain(6, 0, 0, 40);
  idx.on_routed(0, std::span(doc).first(30));
  idx.on_routed(0, other);
  CHECK(idx.entries(0) == 70);
  idx.on_routed(0, doc);  // 30 recorded, 30 new: 100 = the capacity, nothing evicted
  CHECK(idx.entries(0) == 100);
  CHECK(matches(idx, doc)[0] == 60);
  CHECK(matches(idx, other)[0] == 40);
  idx.on_routed(0, std::span(doc).first(45));  // recorded: refreshes doc, adds nothing
  CHECK(idx.entries(0) == 100);
  idx.on_routed(0, chain(7, 0, 0, 20));  // needs 20: the LRU is `other`, from its deepest block
  CHECK(matches(idx, other)[0] == 20);
  CHECK(matches(idx, doc)[0] == 60);
  // A branch off the middle of doc: doc is refreshed, the branch sits just behind it.
  auto branch = chain(5, 9, 50, 70);
  idx.on_routed(0, branch);  // 50 shared, 20 new: `other` loses its last 20
  CHECK(matches(idx, other).count(0) == 0);
  CHECK(matches(idx, branch)[0] == 70);
  idx.on_routed(0, chain(8, 0, 0, 15));  // chain 7 is now the oldest
  CHECK(matches(idx, chain(7, 0, 0, 20))[0] == 5);
  CHECK(matches(idx, branch)[0] == 70);
  idx.on_routed(0, chain(9, 0, 0, 25));  // chain 7's last 5, then the branch (older than doc)
  CHECK(matches(idx, chain(7, 0, 0, 20)).count(0) == 0);
  CHECK(matches(idx, branch)[0] == 50);
  CHECK(matches(idx, doc)[0] == 60);
  CHECK(matches(idx, branch, true)[0] == 50);
  CHECK(idx.entries(0) == 100);
}

TEST_CASE("index: once warm, recording and matching allocate nothing (evictions included)") {
  PrefixIndex idx(5000, 4, 16u << 20);
  std::vector<std::vector<uint64_t>> chains;
  for (uint64_t i = 0; i < 64; ++i) chains.push_back(chain(100 + i, 0, i % 2 ? 0 : 200, 300 + i * 10));
  std::vector<PrefixMatch> out(8);
  auto pass = [&](uint64_t salt) {
    for (size_t i = 0; i < chains.size(); ++i) {
      idx.on_routed(EndpointId((i + salt) % 3), chains[i]);
      idx.longest_matches(chains[(i * 7) % chains.size()], out);
    }
  };
  pass(0);  // warm: endpoint records, this thread's scratch at its largest
  pass(1);
  size_t before = g_allocations.load();
  for (uint64_t round = 2; round < 12; ++round) pass(round);
  CHECK(g_allocations.load() - before == 0);
  for (EndpointId e = 0; e < 3; ++e) CHECK(idx.entries(e) <= 5000);
  CHECK(idx.stats().entries > 10000);  // the endpoints are full: every pass evicted
}

// A young gateway's first prompts must not fault the hash tables in: their pairs land at
// random slots, and each untouched huge page was zeroed inline on the request path (a
// 70-120 ms stall on the first 200 KB prompts of a fresh gateway). The tables (62% of
// the budget) are resident once the index exists.
TEST_CASE("the hash tables are resident from the start, not faulted in by the first prompts") {
  auto resident = [] {
    long pages = 0, rss = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
      std::fclose(f);
    }
    return size_t(rss) * size_t(sysconf(_SC_PAGESIZE));
  };
  constexpr size_t kBudget = size_t(64) << 20;
  const size_t before = resident();
  PrefixIndex index(1u << 16, 64, kBudget);
  const size_t after = resident();
  CHECK_MESSAGE(after - before >= kBudget / 2, "resident grew by ", (after - before) >> 20, " MB");
}
