// Which server holds each response: learned, found, forgotten; bounded in count and
// bytes for the whole table, each bound at N and N+1 (least recently used forgotten
// first, across shards); bounds changed live; ids past the bound never stored.
#include "ringgate/proxy/response_table.h"

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

using ringgate::proxy::ResponseTable;

TEST_CASE("learned ids are found, forgotten ids are not") {
  ResponseTable table;
  CHECK(table.learn("resp_1", 11));
  CHECK(table.find("resp_1") == 11u);
  CHECK_FALSE(table.find("resp_2").has_value());
  CHECK(table.learn("resp_1", 12));  // a new holder replaces the old
  CHECK(table.find("resp_1") == 12u);
  table.forget("resp_1");
  CHECK_FALSE(table.find("resp_1").has_value());
  CHECK(table.size() == 0);
  CHECK(table.bytes() == 0);
}

TEST_CASE("an id longer than the bound, or empty, is never stored") {
  ResponseTable table;
  const std::string longest(ResponseTable::kMaxIdBytes, 'x');
  CHECK(table.learn(longest, 1));
  CHECK(table.find(longest) == 1u);
  CHECK_FALSE(table.learn(longest + "x", 1));
  CHECK_FALSE(table.find(longest + "x").has_value());
  CHECK_FALSE(table.learn("", 1));
  CHECK(table.size() == 1);
}

namespace {
std::string id_of(int i, size_t bytes = 16) {
  std::string id = "resp_" + std::to_string(i);
  id.resize(bytes, 'x');
  return id;
}
}  // namespace

TEST_CASE("the count bound: N entries fit, the N+1th evicts exactly one, the least recently used") {
  for (const size_t n : {size_t(1), size_t(2), size_t(17), size_t(1000)}) {
    CAPTURE(n);
    ResponseTable table({n, size_t(1) << 30});
    for (size_t i = 0; i < n; ++i) REQUIRE(table.learn(id_of(int(i)), i));
    CHECK(table.size() == n);
    CHECK(table.evictions() == 0);
    REQUIRE(table.learn(id_of(int(n)), n));
    CHECK(table.size() == n);
    CHECK(table.evictions() == 1);
    CHECK_FALSE(table.find(id_of(0)).has_value());  // the oldest, whichever shard holds it
    CHECK(table.find(id_of(int(n))) == n);
    if (n > 1) CHECK(table.find(id_of(1)) == 1u);
  }
}

TEST_CASE("a lookup makes an entry recent: the least recently used goes first, across shards") {
  ResponseTable table({64, size_t(1) << 30});
  for (int i = 0; i < 64; ++i) table.learn(id_of(i), uint64_t(i));
  CHECK(table.find(id_of(0)) == 0u);  // now the most recent
  for (int i = 64; i < 64 + 10; ++i) table.learn(id_of(i), uint64_t(i));
  CHECK(table.evictions() == 10);
  CHECK(table.find(id_of(0)) == 0u);
  for (int i = 1; i <= 10; ++i) CHECK_FALSE(table.find(id_of(i)).has_value());
  CHECK(table.find(id_of(11)) == 11u);
  // Learning a known id again refreshes it too, and evicts nothing.
  ResponseTable again({2, size_t(1) << 30});
  again.learn("a", 1);
  again.learn("b", 2);
  again.learn("a", 3);
  again.learn("c", 4);
  CHECK(again.evictions() == 1);
  CHECK_FALSE(again.find("b").has_value());
  CHECK(again.find("a") == 3u);
}

TEST_CASE("the byte bound counts each entry's measured cost: at it, fits; one byte less, evicts one") {
  constexpr size_t kId = 256;
  const size_t each = ResponseTable::entry_bytes(kId);
  CHECK(each == 464);  // what a 256-byte id's entry was measured to cost: 448-451 bytes of RSS
  for (const size_t k : {size_t(1), size_t(3), size_t(40)}) {
    CAPTURE(k);
    ResponseTable at({1'000'000, k * each});
    for (size_t i = 0; i < k; ++i) at.learn(id_of(int(i), kId), i);
    CHECK(at.size() == k);
    CHECK(at.bytes() == k * each);
    CHECK(at.evictions() == 0);
    at.learn(id_of(int(k), kId), k);
    CHECK(at.size() == k);
    CHECK(at.evictions() == 1);
    CHECK_FALSE(at.find(id_of(0, kId)).has_value());
    if (k == 1) continue;
    ResponseTable below({1'000'000, k * each - 1});
    for (size_t i = 0; i < k; ++i) below.learn(id_of(int(i), kId), i);
    CHECK(below.size() == k - 1);
    CHECK(below.evictions() == 1);
    CHECK(below.bytes() == (k - 1) * each);
  }
  // Mixed lengths: the bound holds whatever they are.
  ResponseTable mixed({1'000'000, 64 * 1024});
  for (int i = 0; i < 5000; ++i) mixed.learn(id_of(i, 16 + size_t(i) % 241), 1);
  CHECK(mixed.bytes() <= 64 * 1024);
  CHECK(mixed.size() + mixed.evictions() == 5000);
  for (int i = 0; i < 5000; ++i) mixed.forget(id_of(i, 16 + size_t(i) % 241));
  CHECK(mixed.size() == 0);
  CHECK(mixed.bytes() == 0);
}

TEST_CASE("new bounds apply at once: the least recently used are evicted down to them") {
  ResponseTable table({100, size_t(1) << 30});
  for (int i = 0; i < 100; ++i) table.learn(id_of(i), uint64_t(i));
  table.set_limits({40, size_t(1) << 30});
  CHECK(table.size() == 40);
  CHECK(table.evictions() == 60);
  CHECK_FALSE(table.find(id_of(59)).has_value());
  CHECK(table.find(id_of(60)) == 60u);
  table.set_limits({1000, 10 * ResponseTable::entry_bytes(16)});
  CHECK(table.size() == 10);
  CHECK(table.limits().max_entries == 1000);
  // Below their floors: one entry, of the longest id, always fits.
  table.set_limits({0, 1});
  CHECK(table.limits().max_entries == 1);
  CHECK(table.limits().max_bytes == ResponseTable::entry_bytes(ResponseTable::kMaxIdBytes));
  CHECK(table.learn(std::string(ResponseTable::kMaxIdBytes, 'l'), 9));
  CHECK(table.size() == 1);
  CHECK(table.find(std::string(ResponseTable::kMaxIdBytes, 'l')) == 9u);
}

TEST_CASE("workers learn and look up at once") {
  ResponseTable table({100000, size_t(1) << 30});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&table, t] {
      for (int i = 0; i < 5000; ++i) {
        const std::string id = "resp_" + std::to_string(t) + "_" + std::to_string(i);
        table.learn(id, uint64_t(t));
        CHECK(table.find(id) == uint64_t(t));
      }
    });
  for (auto& th : threads) th.join();
  CHECK(table.size() == 20000);
  CHECK(table.bytes() > 20000 * ResponseTable::kEntryOverheadBytes);
  // Past the bound from four threads at once: it holds (each learn evicts down to it).
  ResponseTable small({1000, size_t(1) << 30});
  threads.clear();
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&small, t] {
      for (int i = 0; i < 5000; ++i) small.learn("r" + std::to_string(t) + "_" + std::to_string(i), 1);
    });
  for (auto& th : threads) th.join();
  CHECK(small.size() <= 1000);
  CHECK(small.size() + small.evictions() == 20000);
}
