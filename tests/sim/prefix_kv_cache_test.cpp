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
