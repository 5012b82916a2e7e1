// proxy::PassiveHealth: consecutive failures → ejection, exponential capped backoff,
// half-open with exactly one trial, readmission, reset, and concurrent recorders.
#include "ringgate/proxy/passive_health.h"

#include <atomic>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

using ringgate::proxy::PassiveHealth;
using ringgate::proxy::PassiveHealthOptions;

namespace {
PassiveHealthOptions opts(uint32_t n = 3, uint64_t base = 1000, uint64_t max = 30000) {
  PassiveHealthOptions o;
  o.eject_after_failures = n;
  o.eject_base_ms = base;
  o.eject_max_ms = max;
  return o;
}
}  // namespace

TEST_CASE("N consecutive failures eject; a success in between resets the count") {
  PassiveHealth h(opts());
  REQUIRE(h.ensure(7));
  const uint64_t t = 100000;
  CHECK_FALSE(h.record_failure(7, t));
  CHECK_FALSE(h.record_failure(7, t));
  h.record_success(7, t);
  CHECK(h.view(7, t).consecutive_failures == 0);
  CHECK_FALSE(h.record_failure(7, t));
  CHECK_FALSE(h.record_failure(7, t));
  CHECK(h.ejected_count() == 0);
  CHECK_FALSE(h.blocked(7, t));
  CHECK(h.record_failure(7, t));  // third in a row
  CHECK(h.ejected_count() == 1);
  CHECK(h.blocked(7, t));
  CHECK(h.blocked(7, t + 999));
  CHECK(h.view(7, t).ejected_for_ms == 1000);
  CHECK(h.ejections_total() == 1);
  // Late failures and successes of requests sent before the ejection change nothing.
  CHECK_FALSE(h.record_failure(7, t + 10));
  h.record_success(7, t + 10);
  CHECK(h.blocked(7, t + 10));
  CHECK(h.ejections_total() == 1);
}

TEST_CASE("half-open: one trial at a time; its failure doubles the ejection up to the cap") {
  PassiveHealth h(opts(1, 1000, 3000));
  REQUIRE(h.ensure(1));
  uint64_t t = 5000;
  CHECK(h.record_failure(1, t));
  CHECK_FALSE(h.claim_trial(1, t + 500));  // still ejected
  t += 1000;                               // ejection over: half-open
  CHECK_FALSE(h.blocked(1, t));
  CHECK(h.view(1, t).half_open);
  CHECK(h.claim_trial(1, t));
  CHECK_FALSE(h.claim_trial(1, t));        // the trial is taken
  CHECK(h.blocked(1, t));
  CHECK(h.record_failure(1, t + 5));        // trial failed: 2 s
  CHECK(h.view(1, t + 5).ejected_for_ms == 2000);
  t += 5 + 2000;
  CHECK(h.claim_trial(1, t));
  CHECK(h.record_failure(1, t));            // 4 s, capped at 3 s
  CHECK(h.view(1, t).ejected_for_ms == 3000);
  t += 3000;
  CHECK(h.claim_trial(1, t));
  CHECK(h.record_failure(1, t));            // stays at the cap
  CHECK(h.view(1, t).ejected_for_ms == 3000);
  CHECK(h.ejections_total() == 4);
  CHECK(h.ejected_count() == 1);
}

TEST_CASE("a successful trial readmits and resets the backoff") {
  PassiveHealth h(opts(2, 100, 10000));
  REQUIRE(h.ensure(3));
  uint64_t t = 1000;
  h.record_failure(3, t);
  CHECK(h.record_failure(3, t));
  t += 100;
  CHECK(h.claim_trial(3, t));
  CHECK(h.record_failure(3, t));  // 200 ms
  t += 200;
  CHECK(h.claim_trial(3, t));
  h.record_success(3, t);
  CHECK(h.ejected_count() == 0);
  CHECK_FALSE(h.blocked(3, t));
  CHECK(h.claim_trial(3, t));      // admitted: always allowed
  const auto v = h.view(3, t);
  CHECK_FALSE(v.ejected);
  CHECK_FALSE(v.half_open);
  CHECK(v.consecutive_failures == 0);
  // Ejected again later: back to the base length.
  h.record_failure(3, t);
  CHECK(h.record_failure(3, t));
  CHECK(h.view(3, t).ejected_for_ms == 100);
}

TEST_CASE("a trial whose request vanished frees the endpoint after its lease") {
  PassiveHealth h(opts(1, 1000, 30000));
  REQUIRE(h.ensure(0));
  h.record_failure(0, 0);
  CHECK(h.claim_trial(0, 1000));
  CHECK(h.blocked(0, 1500));
  CHECK_FALSE(h.blocked(0, 2001));  // lease (one ejection length) over
  CHECK(h.claim_trial(0, 2001));
}

TEST_CASE("reset (the endpoint rejoined or came back) forgets everything; unknown ids are ignored") {
  PassiveHealth h(opts(1));
  REQUIRE(h.ensure(300));  // second chunk
  CHECK(h.record_failure(300, 10));
  CHECK(h.ejected_count() == 1);
  h.reset(300);
  CHECK(h.ejected_count() == 0);
  CHECK_FALSE(h.blocked(300, 11));
  CHECK(h.view(300, 11).ejections == 1);  // the total stays (a counter)
  CHECK_FALSE(h.record_failure(5000, 10));  // never ensured
  CHECK_FALSE(h.blocked(5000, 10));
  CHECK(h.claim_trial(5000, 10));
  PassiveHealth off(opts(0));
  REQUIRE(off.ensure(1));
  for (int i = 0; i < 100; ++i) CHECK_FALSE(off.record_failure(1, 10));
  CHECK(off.ejected_count() == 0);
}

TEST_CASE("concurrent workers: one ejection, exactly one trial winner") {
  PassiveHealth h(opts(3, 1000, 30000));
  REQUIRE(h.ensure(9));
  std::atomic<int> ejections{0}, trials{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (h.record_failure(9, 50)) ejections.fetch_add(1);
    });
  }
  for (auto& th : threads) th.join();
  threads.clear();
  CHECK(ejections.load() == 1);
  CHECK(h.ejected_count() == 1);
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (h.claim_trial(9, 1050)) trials.fetch_add(1);
    });
  }
  for (auto& th : threads) th.join();
  CHECK(trials.load() == 1);
}
