// The one publication mechanism (issue 12) with a T other than endpoint snapshots:
// readers see the newest value, nothing is freed while a reader holds it, and a
// publisher on another thread needs no coordination with the readers.
#include "ringgate/util/snapshot_publisher.h"

#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

using ringgate::util::SnapshotPublisher;

namespace {
std::atomic<int> alive{0};
struct Value {
  explicit Value(int v) : value(v) { ++alive; }
  ~Value() { --alive; }
  int value;
};
struct Stamped {
  uint64_t version = 0;
  void set_version(uint64_t v) { version = v; }
};
}  // namespace

TEST_CASE("a reader sees the newest value and keeps the one it holds alive") {
  {
    SnapshotPublisher<Value> publisher(2);
    auto reader = publisher.reader(0);
    CHECK(reader.refresh() == nullptr);
    publisher.publish(std::make_unique<Value>(1));
    const Value* held = reader.refresh();
    REQUIRE(held);
    CHECK(held->value == 1);
    publisher.publish(std::make_unique<Value>(2));
    CHECK(publisher.retired_count() == 1);  // reader 0 still holds value 1
    CHECK(held->value == 1);
    CHECK(reader.refresh()->value == 2);
    CHECK(publisher.reclaim() == 0);
    CHECK(alive.load() == 1);
    CHECK(publisher.reader(5).refresh() == nullptr);  // no such slot: sees nothing
  }
  CHECK(alive.load() == 0);
}

TEST_CASE("types with set_version are stamped, others are not required to have it") {
  SnapshotPublisher<Stamped> publisher(1);
  CHECK(publisher.publish(std::make_unique<Stamped>()) == 1);
  CHECK(publisher.publish(std::make_unique<Stamped>()) == 2);
  auto reader = publisher.reader(0);
  CHECK(reader.refresh()->version == 2);
}

TEST_CASE("two publishing threads and two readers: every read is a whole, live value") {
  {
    SnapshotPublisher<Value> publisher(2);
    publisher.publish(std::make_unique<Value>(0));
    std::atomic<bool> stop{false};
    std::atomic<int> bad{0};
    std::thread readers[2];
    for (int r = 0; r < 2; ++r) {
      readers[r] = std::thread([&, r] {
        auto reader = publisher.reader(size_t(r));
        int last = -1;
        while (!stop.load()) {
          const Value* v = reader.refresh();
          if (!v || v->value < 0) ++bad;
          last = v ? v->value : last;
        }
        reader.release();
      });
    }
    std::thread publishers[2];
    for (int p = 0; p < 2; ++p) {
      publishers[p] = std::thread([&, p] {
        for (int i = 1; i <= 2000; ++i) publisher.publish(std::make_unique<Value>(i * 2 + p));
      });
    }
    for (auto& t : publishers) t.join();
    stop.store(true);
    for (auto& t : readers) t.join();
    CHECK(bad.load() == 0);
    CHECK(publisher.reclaim() == 0);
    CHECK(alive.load() == 1);
  }
  CHECK(alive.load() == 0);
}
