// GAIE's saturation detector (queue depth, KV usage, metrics staleness) with the
// gateway's in-flight requests counted as waiting until a scrape says otherwise, and
// the scheduler's flow-control mode: never a saturated endpoint, `saturated` when
// every candidate is.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "ringgate/sched/inflight_counters.h"
#include "ringgate/sched/prefix_index.h"
#include "ringgate/sched/saturation_detector.h"
#include "ringgate/sched/scheduler.h"
#include "sched_test_support.h"

using namespace ringgate::sched;
using namespace ringgate::sched::test;
using namespace std::chrono_literals;

namespace {
EndpointSignals fresh(double waiting, double kv = 0, int64_t inflight = 0, double running = 0) {
  EndpointSignals s;
  s.fresh = true;
  s.metrics_age = 10ms;
  s.waiting = waiting;
  s.kv_usage = kv;
  s.inflight = inflight;
  s.running = running;
  return s;
}
}  // namespace

TEST_CASE("saturation detector: GAIE's thresholds and staleness") {
  SaturationConfig c;
  CHECK(c.queue_depth_threshold == 5);
  CHECK(c.kv_cache_util_threshold == doctest::Approx(0.8));
  CHECK(c.metrics_staleness_threshold == 200ms);
  CHECK_FALSE(endpoint_saturated(fresh(4, 0.79), c));
  CHECK(endpoint_saturated(fresh(5), c));
  CHECK(endpoint_saturated(fresh(0, 0.8), c));
  EndpointSignals old = fresh(0);
  old.metrics_age = 201ms;
  CHECK(endpoint_saturated(old, c));
  old.metrics_age = 200ms;
  CHECK_FALSE(endpoint_saturated(old, c));
  EndpointSignals never;  // never scraped
  CHECK(endpoint_saturated(never, c));
  CHECK(endpoint_saturation(never, c) == 1.0);
  CHECK(endpoint_saturation(fresh(0, 0.4), c) == doctest::Approx(0.5));
}

// Issue 53: each threshold at value - 1, value and value + 1 (the float ones at the next
// double either side), set away from its default so a hard-coded default shows.
TEST_CASE("saturation detector: every threshold at its boundary, configured") {
  SaturationConfig c;
  c.queue_depth_threshold = 7;
  c.kv_cache_util_threshold = 0.5;
  c.metrics_staleness_threshold = 300ms;
  CHECK_FALSE(endpoint_saturated(fresh(6), c));
  CHECK(endpoint_saturated(fresh(7), c));
  CHECK(endpoint_saturated(fresh(8), c));
  CHECK_FALSE(endpoint_saturated(fresh(0, std::nextafter(0.5, 0.0)), c));
  CHECK(endpoint_saturated(fresh(0, 0.5), c));
  CHECK(endpoint_saturated(fresh(0, std::nextafter(0.5, 1.0)), c));
  for (const auto age : {299ms, 300ms, 301ms}) {
    CAPTURE(age.count());
    EndpointSignals s = fresh(0);
    s.metrics_age = age;
    CHECK(endpoint_saturated(s, c) == (age > 300ms));
  }
  c.max_concurrency = 6;  // this gateway's in-flight (running as scraped, so none waiting)
  CHECK_FALSE(endpoint_saturated(fresh(0, 0, 5, 5), c));
  CHECK(endpoint_saturated(fresh(0, 0, 6, 6), c));
  CHECK(endpoint_saturated(fresh(0, 0, 7, 7), c));
}

TEST_CASE("saturation detector: requests sent since the scrape count as waiting") {
  SaturationConfig c;
  // The scrape saw 4 running, none waiting; the gateway has sent 9 since: 5 are waiting.
  CHECK(estimated_waiting(fresh(0, 0, 9, 4)) == 5);
  CHECK(endpoint_saturated(fresh(0, 0, 9, 4), c));
  CHECK_FALSE(endpoint_saturated(fresh(0, 0, 8, 4), c));
  // Another client's load the scrape saw still counts.
  CHECK(estimated_waiting(fresh(6, 0, 1, 4)) == 6);
}

TEST_CASE("scheduler with flow control: saturated endpoints are never picked; all saturated -> held") {
  PrefixIndex index{100000, 1024};
  InflightCounters inflight;
  for (EndpointId i = 0; i < 3; ++i) inflight.ensure(i);
  std::vector<EndpointState> v = make_pool(3);
  v[0].metrics.all.waiting = 7;           // deep queue
  v[2].metrics.all.kv_cache_usage = 0.9;  // full cache
  EndpointSnapshot snap(std::move(v));
  Scheduler s(SchedulerConfig{}, index, inflight);
  Rng rng;
  PickRequest r;
  r.model = "m";
  r.now = fresh_now();
  r.hold_when_saturated = true;
  for (int i = 0; i < 50; ++i) {
    PickResult p = s.pick(snap, r, rng);
    REQUIRE(p.ok());
    CHECK(p.endpoint == 1);
  }
  // Endpoint 1 fills up with this gateway's own requests: nothing is left.
  for (int i = 0; i < 5; ++i) inflight.add(1);
  CHECK(s.pick(snap, r, rng).status == PickStatus::Saturated);
  // Without flow control a non-sheddable request is still placed.
  r.hold_when_saturated = false;
  CHECK(s.pick(snap, r, rng).ok());
  // The request's own detector config wins over the scheduler's.
  SaturationConfig loose;
  loose.queue_depth_threshold = 100;
  loose.kv_cache_util_threshold = 1.0;
  r.hold_when_saturated = true;
  r.saturation = &loose;
  CHECK(s.pick(snap, r, rng).ok());
}

TEST_CASE("saturation detector: maxConcurrency (GAIE's concurrency detector) counts this gateway's in-flight") {
  SaturationConfig c;
  c.max_concurrency = 4;
  CHECK_FALSE(endpoint_saturated(fresh(0, 0, 3, 3), c));
  CHECK(endpoint_saturated(fresh(0, 0, 4, 4), c));
  CHECK(endpoint_saturation(fresh(0, 0, 2, 2), c) == doctest::Approx(0.5));
  c.max_concurrency = 0;  // off
  CHECK_FALSE(endpoint_saturated(fresh(0, 0, 4, 4), c));
}

TEST_CASE("saturation detector: sheddableHeadroom keeps slots for non-sheddable requests, which fill it first") {
  SaturationConfig c;
  c.max_concurrency = 4;
  c.sheddable_headroom = 2;
  auto with = [](int64_t sheddable, int64_t others) {
    EndpointSignals s = fresh(0, 0, sheddable + others, double(sheddable + others));
    s.sheddable_inflight = sheddable;
    return s;
  };
  CHECK_FALSE(endpoint_saturated(with(1, 0), c, true));
  CHECK(endpoint_saturated(with(2, 0), c, true));     // 2 of 4 left: kept
  CHECK_FALSE(endpoint_saturated(with(2, 0), c));     // a critical one still fits
  CHECK_FALSE(endpoint_saturated(with(1, 1), c, true));  // the critical one took a kept slot
  CHECK_FALSE(endpoint_saturated(with(0, 2), c, true));  // both kept slots used by critical ones
  CHECK_FALSE(endpoint_saturated(with(1, 2), c, true));
  CHECK(endpoint_saturated(with(2, 2), c, true));     // full
  CHECK(endpoint_saturated(with(0, 4), c, true));
  CHECK(endpoint_saturated(with(2, 2), c));
  c.max_concurrency = 0;  // headroom means nothing without the cap
  CHECK_FALSE(endpoint_saturated(with(3, 0), c, true));
}

TEST_CASE("scheduler: a sheddable request is held back by the headroom, a critical one is not") {
  PrefixIndex index{100000, 1024};
  InflightCounters inflight;
  inflight.ensure(0);
  EndpointSnapshot snap(make_pool(1));
  Scheduler s(SchedulerConfig{}, index, inflight);
  Rng rng;
  for (int i = 0; i < 2; ++i) inflight.add(0, /*sheddable=*/true);
  SaturationConfig c;
  c.max_concurrency = 4;
  c.sheddable_headroom = 2;
  PickRequest r;
  r.model = "m";
  r.now = fresh_now();
  r.hold_when_saturated = true;
  r.saturation = &c;
  r.sheddable = true;
  CHECK(s.pick(snap, r, rng).status == PickStatus::Saturated);
  r.sheddable = false;
  CHECK(s.pick(snap, r, rng).ok());
  c.sheddable_headroom = 0;
  r.sheddable = true;
  CHECK(s.pick(snap, r, rng).ok());
  // Two non-sheddable in flight instead: they use the reserve, a sheddable one fits.
  c.sheddable_headroom = 2;
  for (int i = 0; i < 2; ++i) inflight.sub(0, true);
  for (int i = 0; i < 2; ++i) inflight.add(0);
  CHECK(s.pick(snap, r, rng).ok());
}
