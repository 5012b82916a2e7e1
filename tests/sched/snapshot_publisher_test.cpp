#include "ringgate/sched/snapshot_publisher.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "sched_test_support.h"

using namespace ringgate::sched;
using namespace ringgate::sched::test;

namespace {

// A snapshot whose every endpoint carries `marker` in its waiting gauge, so a
// reader can check it sees a whole, live object (ASan flags a freed one).
std::unique_ptr<EndpointSnapshot> marked_snapshot(double marker, size_t n = 4) {
  std::vector<EndpointState> v;
  for (size_t i = 0; i < n; ++i) v.push_back(make_endpoint(EndpointId(i), "m", marker));
  return std::make_unique<EndpointSnapshot>(std::move(v));
}

}  // namespace

TEST_CASE("publisher: versions, reader sees newest, held snapshot is not reclaimed") {
  SnapshotPublisher pub(2);
  auto r0 = pub.reader(0);
  CHECK(r0.refresh() == nullptr);
  CHECK(pub.publish(marked_snapshot(1)) == 1);
  const EndpointSnapshot* s1 = r0.refresh();
  REQUIRE(s1);
  CHECK(s1->version() == 1);
  CHECK(pub.publish(marked_snapshot(2)) == 2);
  // r0 still holds v1: it must survive.
  CHECK(pub.retired_count() == 1);
  CHECK(s1->at(0).metrics.all.waiting == 1);
  const EndpointSnapshot* s2 = r0.refresh();
  CHECK(s2->version() == 2);
  CHECK(pub.reclaim() == 0);
  r0.release();
  CHECK(r0.current() == nullptr);
  pub.publish(marked_snapshot(3));
  CHECK(pub.retired_count() == 0);  // nobody held v2
  CHECK(pub.version() == 3);
}

TEST_CASE("publisher: an out-of-range slot yields a reader that sees nothing") {
  SnapshotPublisher pub(1);
  pub.publish(marked_snapshot(1));
  auto bad = pub.reader(5);
  CHECK(bad.refresh() == nullptr);
}

TEST_CASE("publisher: concurrent readers never see a freed or torn snapshot; all reclaimed at the end") {
  constexpr size_t kReaders = 3;
  SnapshotPublisher pub(kReaders);
  pub.publish(marked_snapshot(1));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bad{0}, reads{0};
  std::vector<std::thread> readers;
  for (size_t r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      auto reader = pub.reader(r);
      uint64_t last_version = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const EndpointSnapshot* s = reader.refresh();
        if (!s) continue;
        // Versions never go backwards and content matches its version.
        if (s->version() < last_version) bad.fetch_add(1);
        last_version = s->version();
        double marker = s->at(0).metrics.all.waiting;
        for (const EndpointState& e : s->endpoints())
          if (e.metrics.all.waiting != marker || double(s->version()) != marker) bad.fetch_add(1);
        reads.fetch_add(1, std::memory_order_relaxed);
      }
      reader.release();
    });
  }
  // Publishing starts once a reader runs: on a loaded machine the 3000 publishes could
  // all be over before any reader thread got a core (reads == 0, nothing raced).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (reads.load() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  for (int v = 2; v <= 3000; ++v) {
    pub.publish(marked_snapshot(double(v)));
    if (v % 64 == 0) std::this_thread::yield();
  }
  stop.store(true);
  for (auto& t : readers) t.join();
  CHECK(bad.load() == 0);
  CHECK(reads.load() > 0);
  CHECK(pub.reclaim() == 0);  // every reader released: everything retired is freed
}
