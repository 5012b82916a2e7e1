#include "ringgate/sim/prefix_kv_cache.h"

#include <doctest/doctest.h>

#include <vector>

using ringgate::sim::KvAllocation;
using ringgate::sim::PrefixKvCache;

TEST_CASE("a fresh cache has every block free and finds nothing") {
  PrefixKvCache kv(8);
  CHECK(kv.num_blocks() == 8);
  CHECK(kv.used_blocks() == 0);
  std::vector<uint64_t> h{1, 2, 3};
  CHECK(kv.match(h) == 0);
}

TEST_CASE("a running sequence holds its blocks; released prompt blocks stay cached but count as free") {
  PrefixKvCache kv(8);
  std::vector<uint64_t> h{11, 12, 13};
  KvAllocation a;
  REQUIRE(kv.allocate(h, 2, a));
  CHECK(a.cached_blocks == 0);
  CHECK(a.blocks.size() == 5);
  CHECK(kv.used_blocks() == 5);
  CHECK(kv.usage() == doctest::Approx(5.0 / 8));
  kv.release(a);
  CHECK(kv.used_blocks() == 0);
  CHECK(kv.match(h) == 3);
}

TEST_CASE("a second request with the same prefix hits the cached blocks, also while the first still runs") {
  PrefixKvCache kv(16);
  std::vector<uint64_t> first{1, 2, 3, 4};
  std::vector<uint64_t> second{1, 2, 9};
  KvAllocation a, b;
  REQUIRE(kv.allocate(first, 1, a));
  REQUIRE(kv.allocate(second, 1, b));
  CHECK(b.cached_blocks == 2);
  CHECK(kv.used_blocks() == 5 + 2);  // shared blocks are counted once
  kv.release(a);
  CHECK(kv.used_blocks() == 4);      // 1, 2, 9 and b's extra block
  kv.release(b);
  CHECK(kv.used_blocks() == 0);
  CHECK(kv.match(first) == 4);
  CHECK(kv.match(second) == 3);
}

TEST_CASE("eviction takes the least recently released cached block, tail blocks first") {
  PrefixKvCache kv(4);
  std::vector<uint64_t> p{1, 2};
  std::vector<uint64_t> q{5, 6};
  KvAllocation a, b;
  REQUIRE(kv.allocate(p, 0, a));
  REQUIRE(kv.allocate(q, 0, b));
  kv.release(a);  // p released first: its blocks go first, its tail (2) before its head (1)
  kv.release(b);
  KvAllocation c;
  REQUIRE(kv.allocate({}, 1, c));
  CHECK(kv.match(p) == 1);  // block 2 evicted, block 1 still there
  CHECK(kv.match(q) == 2);
  KvAllocation d;
  REQUIRE(kv.allocate({}, 1, d));
  CHECK(kv.match(p) == 0);
  CHECK(kv.match(q) == 2);
}

TEST_CASE("allocation fails without side effects when blocks are short, and held blocks are never evicted") {
  PrefixKvCache kv(4);
  std::vector<uint64_t> p{1, 2, 3};
  KvAllocation a;
  REQUIRE(kv.allocate(p, 0, a));
  KvAllocation b;
  CHECK_FALSE(kv.can_allocate({}, 2));
  CHECK_FALSE(kv.allocate({}, 2, b));
  CHECK(kv.used_blocks() == 3);
  CHECK(kv.match(p) == 3);
  // Sharing cached blocks needs no new ones.
  CHECK(kv.can_allocate(p, 1));
  kv.release(a);
  CHECK(kv.can_allocate({}, 4));
}

TEST_CASE("reusing free cached blocks is accounted for when checking room") {
  PrefixKvCache kv(4);
  std::vector<uint64_t> p{1, 2, 3};
  KvAllocation a;
  REQUIRE(kv.allocate(p, 0, a));
  kv.release(a);
  // p's 3 cached blocks + 2 more would need 5 blocks.
  CHECK_FALSE(kv.can_allocate(p, 2));
  CHECK(kv.can_allocate(p, 1));
  KvAllocation b;
  REQUIRE(kv.allocate(p, 1, b));
  CHECK(b.cached_blocks == 3);
  CHECK(kv.used_blocks() == 4);
}

TEST_CASE("a later block that outlived an evicted earlier one does not corrupt the index") {
  PrefixKvCache kv(3);
  std::vector<uint64_t> p{1, 2};
  KvAllocation a, filler, b, c;
  REQUIRE(kv.allocate(p, 0, a));
  kv.release(a);                          // free order: 2, 1
  REQUIRE(kv.allocate({}, 1, filler));    // the unhashed block
  kv.release(filler);
  REQUIRE(kv.allocate({}, 2, b));         // takes the unhashed block, then evicts 2
  CHECK(kv.match(p) == 1);
  kv.release(b);
  std::vector<uint64_t> reversed{2, 1};   // 2 is missing, 1 is present further down
  REQUIRE(kv.allocate(reversed, 0, c));
  CHECK(c.cached_blocks == 0);
  kv.release(c);
  CHECK(kv.used_blocks() == 0);
  CHECK(kv.match(std::vector<uint64_t>{1}) == 1);
}

namespace kve = ringgate::kvevents;

TEST_CASE("KV events: stored when blocks are cached, removed when evicted, as vLLM's block pool emits them") {
  PrefixKvCache kv(3);
  KvAllocation a, b;
  // Not recording: nothing collects.
  REQUIRE(kv.allocate(std::vector<uint64_t>{1}, 0, a));
  kv.release(a);
  CHECK(kv.take_events().empty());

  PrefixKvCache cache(3);
  cache.record_events();
  const std::vector<uint32_t> tokens{10, 11, 20, 21};
  const ringgate::sim::StoredBlockInfo info{tokens, 2, std::nullopt};
  REQUIRE(cache.allocate(std::vector<uint64_t>{100, 200}, 1, a, UINT32_MAX, &info));
  auto events = cache.take_events();
  REQUIRE(events.size() == 1);
  CHECK(std::get<kve::BlockStored>(events[0]) ==
        kve::BlockStored{{100, 200}, std::nullopt, {10, 11, 20, 21}, 2, std::nullopt, "GPU"});
  CHECK(cache.take_events().empty());  // taken once

  // A hit on block 100 and a new block 300 after it: parent is 100; the LoRA id rides along.
  cache.release(a);
  const std::vector<uint32_t> tokens2{10, 11, 30, 31};
  const ringgate::sim::StoredBlockInfo info2{tokens2, 2, 7};
  REQUIRE(cache.allocate(std::vector<uint64_t>{100, 300}, 0, b, UINT32_MAX, &info2));
  events = cache.take_events();
  // 3 blocks: 100 is held again, 200 and the unhashed block are free; the unhashed one
  // goes first, so nothing cached is evicted.
  REQUIRE(events.size() == 1);
  CHECK(std::get<kve::BlockStored>(events[0]) == kve::BlockStored{{300}, 100, {30, 31}, 2, 7, "GPU"});

  // Now the only free block is 200's: taking it evicts 200 (BlockRemoved first, then the new store).
  cache.release(b);
  KvAllocation c;
  REQUIRE(cache.allocate(std::vector<uint64_t>{100, 300}, 1, c));
  events = cache.take_events();
  REQUIRE(events.size() == 1);
  CHECK(std::get<kve::BlockRemoved>(events[0]) == kve::BlockRemoved{{200}, "GPU"});
}

TEST_CASE("KV events: a block already cached under its hash is not stored twice") {
  PrefixKvCache cache(4);
  cache.record_events();
  KvAllocation a, b;
  REQUIRE(cache.allocate(std::vector<uint64_t>{1, 2}, 0, a));
  cache.take_events();
  // Capped at 0 cached blocks (vLLM recomputes the last token): 1 and 2 get fresh blocks,
  // but their hashes are already indexed, so no event says they were stored again.
  REQUIRE(cache.allocate(std::vector<uint64_t>{1, 2}, 0, b, 0));
  CHECK(cache.take_events().empty());
}

TEST_CASE("a CPU tier keeps what the GPU evicts; a prompt that misses the GPU loads those blocks") {
  PrefixKvCache kv(2, 4, 16);
  kv.record_events();
  std::vector<uint64_t> p{1, 2};
  KvAllocation a, b, c;
  REQUIRE(kv.allocate(p, 0, a));
  CHECK(a.cpu_blocks == 0);
  kv.release(a);
  REQUIRE(kv.allocate(std::vector<uint64_t>{7, 8}, 0, b));  // evicts 2 then 1 from the GPU
  CHECK(kv.match(p) == 0);
  CHECK(kv.cpu_tier_blocks() == 2);
  kv.release(b);
  // p again: not on the GPU, both blocks in the CPU tier; the last block is never a hit.
  REQUIRE(kv.allocate(p, 0, c, 1));
  CHECK(c.cached_blocks == 0);
  CHECK(c.cpu_blocks == 1);
  // Events: GPU removals, each followed by the CPU tier's store of the same block.
  const auto events = kv.take_events();
  std::vector<std::pair<bool, std::string>> seen;  // (stored, medium) of the CPU tier's events
  for (const auto& e : events) {
    if (const auto* s = std::get_if<ringgate::kvevents::BlockStored>(&e); s && s->medium == "CPU") {
      CHECK(s->block_hashes.size() == 1);
      CHECK(s->block_size == 16);
      CHECK_FALSE(s->parent_block_hash.has_value());
      seen.emplace_back(true, *s->medium);
    }
  }
  CHECK(seen.size() == 4);  // 2 and 1 from p, then 8 and 7 when p came back
}

TEST_CASE("the CPU tier is LRU of its size: the block past it is removed with medium CPU") {
  PrefixKvCache kv(1, 2, 16);
  kv.record_events();
  for (uint64_t h : {1, 2, 3, 4}) {
    KvAllocation a;
    REQUIRE(kv.allocate(std::vector<uint64_t>{h}, 0, a));
    kv.release(a);
  }
  // 1, 2, 3 went to the CPU tier as 2, 3, 4 took the GPU's one block: 1 fell out of it.
  CHECK(kv.cpu_tier_blocks() == 2);
  size_t cpu_removed = 0;
  for (const auto& e : kv.take_events())
    if (const auto* r = std::get_if<ringgate::kvevents::BlockRemoved>(&e); r && r->medium == "CPU") {
      CHECK(r->block_hashes == std::vector<uint64_t>{1});
      ++cpu_removed;
    }
  CHECK(cpu_removed == 1);
  KvAllocation hit, miss;
  REQUIRE(kv.allocate(std::vector<uint64_t>{3}, 0, hit));
  CHECK(hit.cpu_blocks == 1);
  kv.release(hit);
  PrefixKvCache without(1);
  REQUIRE(without.allocate(std::vector<uint64_t>{5}, 0, miss));
  CHECK(without.cpu_tier_blocks() == 0);
}
