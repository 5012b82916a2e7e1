#include "ringgate/sched/inflight_counters.h"

#include <doctest/doctest.h>

#include <thread>
#include <vector>

using namespace ringgate::sched;

TEST_CASE("in-flight counters: ensure, add/sub, unknown ids ignored") {
  InflightCounters c;
  CHECK(c.get(3) == 0);
  c.add(3);  // not ensured: ignored
  CHECK(c.get(3) == 0);
  REQUIRE(c.ensure(3));
  REQUIRE(c.ensure(700));
  c.add(3);
  c.add(3);
  c.sub(3);
  c.add(700);
  CHECK(c.get(3) == 1);
  CHECK(c.get(700) == 1);
  CHECK(c.get(4) == 0);
  constexpr size_t kMaxIds = ringgate::util::StableSlots<int>::kMaxIds;
  CHECK(c.ensure(EndpointId(kMaxIds - 1)));
  c.add(EndpointId(kMaxIds - 1));
  CHECK(c.get(EndpointId(kMaxIds - 1)) == 1);
  CHECK_FALSE(c.ensure(EndpointId(kMaxIds)));
  c.add(EndpointId(kMaxIds));  // ignored, not a crash
  CHECK(c.get(EndpointId(kMaxIds)) == 0);
  CHECK(c.get(kNoEndpoint) == 0);
}

TEST_CASE("in-flight counters: concurrent workers keep an exact count") {
  InflightCounters c;
  REQUIRE(c.ensure(1));
  std::vector<std::thread> workers;
  for (int w = 0; w < 2; ++w)
    workers.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) {
        c.add(1);
        if (i % 2) c.sub(1);
      }
    });
  for (auto& t : workers) t.join();
  CHECK(c.get(1) == 100000);
}
