// Which server holds each response: learned, found, forgotten; bounded in count and
// bytes (least recently used forgotten first); ids past the bound never stored.
#include "ringgate/sched/response_table.h"

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

using ringgate::sched::ResponseTable;
using ringgate::sched::ResponseTableLimits;

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

TEST_CASE("the count bound forgets the least recently used") {
  ResponseTableLimits limits;
  limits.max_entries = ResponseTable::kShards * 4;
  ResponseTable table(limits);
  for (int i = 0; i < 10000; ++i) table.learn("resp_" + std::to_string(i), uint64_t(i));
  CHECK(table.size() <= limits.max_entries);
  CHECK(table.evictions() == 10000 - table.size());
  CHECK(table.find("resp_9999") == 9999u);  // the newest is there
  CHECK_FALSE(table.find("resp_0").has_value());
  // A lookup makes an entry recent: it outlives the many learnt after it.
  ResponseTable lru(limits);
  lru.learn("k0", 1);
  for (int round = 0; round < 1000; ++round) {
    CHECK(lru.find("k0") == 1u);
    lru.learn("new" + std::to_string(round), 2);
  }
  CHECK(lru.size() <= limits.max_entries);
}

TEST_CASE("the byte bound holds, whatever the ids' lengths") {
  ResponseTableLimits limits;
  limits.max_entries = 1'000'000;
  limits.max_bytes = 64 * 1024;
  ResponseTable table(limits);
  for (int i = 0; i < 5000; ++i) table.learn(std::to_string(i) + std::string(200, 'z'), 1);
  CHECK(table.bytes() <= limits.max_bytes);
  CHECK(table.size() < 5000);
}

TEST_CASE("workers learn and look up at once") {
  ResponseTableLimits limits;
  limits.max_entries = 100000;
  ResponseTable table(limits);
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
}
