// /healthz's stall detector over the workers' tick counters.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "ringgate/control/loop_watch.h"

using ringgate::control::LoopWatch;
using namespace std::chrono_literals;

TEST_CASE("a worker whose tick count stops moving is stalled after the limit; moving again clears it") {
  LoopWatch watch(2s);
  const auto t0 = LoopWatch::Clock::time_point{} + 100s;
  std::vector<uint64_t> ticks{0, 0};
  watch.observe(ticks, t0);
  CHECK_FALSE(watch.stalled(t0 + 1s));
  // Worker 0 turns every 100 ms; worker 1 stops after 1 s.
  for (int i = 1; i <= 40; ++i) {
    ticks[0] += 1;
    if (i <= 10) ticks[1] += 1;
    watch.observe(ticks, t0 + i * 100ms);
  }
  // Worker 1 last moved at t0 + 1 s: stalled from t0 + 3 s on.
  CHECK_FALSE(watch.stalled(t0 + 2900ms));
  auto stall = watch.stalled(t0 + 4s);
  REQUIRE(stall);
  CHECK(stall->worker == 1);
  CHECK(stall->for_how_long == 3s);
  ticks[1] += 1;
  watch.observe(ticks, t0 + 4s);
  CHECK_FALSE(watch.stalled(t0 + 4s + 500ms));
}

TEST_CASE("the worst stall is reported; a changed worker count starts everyone fresh") {
  LoopWatch watch(1s);
  const auto t0 = LoopWatch::Clock::time_point{} + 50s;
  watch.observe(std::vector<uint64_t>{5, 5, 5}, t0);
  watch.observe(std::vector<uint64_t>{6, 5, 6}, t0 + 500ms);
  watch.observe(std::vector<uint64_t>{7, 5, 6}, t0 + 1s);
  auto stall = watch.stalled(t0 + 2s);
  REQUIRE(stall);
  CHECK(stall->worker == 1);  // idle 2 s; worker 2 idle 1.5 s
  watch.observe(std::vector<uint64_t>{7, 5}, t0 + 2s);
  CHECK_FALSE(watch.stalled(t0 + 2s + 900ms));
}
