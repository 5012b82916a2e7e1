// llm-d's optimized-baseline and P/D plugins (issue 52): token-load-scorer,
// active-request-scorer, no-hit-lru-scorer and prefix-cache-affinity-filter, each at the
// boundaries of its thresholds.
#include <doctest/doctest.h>

#include <vector>

#include "ringgate/sched/inflight_counters.h"
#include "ringgate/sched/scheduler.h"
#include "sched_test_support.h"

using namespace ringgate::sched;
using namespace ringgate::sched::test;

namespace {

EndpointSignals tokens(double n) {
  EndpointSignals s;
  s.inflight_tokens = n;
  return s;
}
EndpointSignals requests(int64_t n) {
  EndpointSignals s;
  s.inflight = n;
  return s;
}
EndpointSignals held(uint32_t id, uint32_t blocks, double ttft_ms = 0, bool cold = true) {
  EndpointSignals s;
  s.id = id;
  s.prefix_blocks = blocks;
  s.latency_predicted = true;  // predict_latency leaves it as given
  s.latency_cold = cold;
  s.predicted_ttft_ms = ttft_ms;
  return s;
}

}  // namespace

TEST_CASE("token-load scorer: 1 - min(1, tokens / queueThresholdTokens), llm-d's 4Mi by default") {
  SchedulerConfig config;
  CHECK(config.token_load.queue_threshold_tokens == 4194304);
  const double t = 4194304;
  std::vector<EndpointSignals> c{tokens(0), tokens(t / 2), tokens(t - 1), tokens(t), tokens(t + 1), tokens(1)};
  run_scorer("token-load", c, config);
  CHECK(score_of(c[0], "token-load") == 1.0);
  CHECK(score_of(c[1], "token-load") == doctest::Approx(0.5));
  CHECK(score_of(c[2], "token-load") > 0.0);
  CHECK(score_of(c[2], "token-load") == doctest::Approx(1.0 / t));
  CHECK(score_of(c[3], "token-load") == 0.0);  // at the threshold
  CHECK(score_of(c[4], "token-load") == 0.0);  // beyond: clamped
  CHECK(score_of(c[5], "token-load") < 1.0);
  config.token_load.queue_threshold_tokens = 1000;
  std::vector<EndpointSignals> small{tokens(250), tokens(999), tokens(1000)};
  run_scorer("token-load", small, config);
  CHECK(score_of(small[0], "token-load") == doctest::Approx(0.75));
  CHECK(score_of(small[1], "token-load") == doctest::Approx(0.001));
  CHECK(score_of(small[2], "token-load") == 0.0);
}

TEST_CASE("active-request scorer: idle at or below idleThreshold scores 1, busier (max - n) / max x maxBusyScore") {
  SchedulerConfig config;
  CHECK(config.active_request.idle_threshold == 0);
  CHECK(config.active_request.max_busy_score == 1.0);
  std::vector<EndpointSignals> c{requests(0), requests(1), requests(4)};
  run_scorer("active-request", c, config);
  CHECK(score_of(c[0], "active-request") == 1.0);
  CHECK(score_of(c[1], "active-request") == doctest::Approx(0.75));
  CHECK(score_of(c[2], "active-request") == 0.0);  // the busiest

  config.active_request.idle_threshold = 2;
  config.active_request.max_busy_score = 0.5;
  std::vector<EndpointSignals> d{requests(2), requests(3), requests(6)};
  run_scorer("active-request", d, config);
  CHECK(score_of(d[0], "active-request") == 1.0);                    // at the threshold: idle
  CHECK(score_of(d[1], "active-request") == doctest::Approx(0.25));  // one above: (6 - 3) / 6 x 0.5
  CHECK(score_of(d[2], "active-request") == 0.0);
  std::vector<EndpointSignals> idle{requests(0), requests(0)};
  run_scorer("active-request", idle, config);
  CHECK(score_of(idle[0], "active-request") == 1.0);
}

TEST_CASE("no-hit-lru scorer: a cold request ranks never-used first, then least recently used; warm is 0.5") {
  std::vector<EndpointSignals> c(4);
  c[0].cold_stamp = 7;  // most recent
  c[1].cold_stamp = 0;  // never
  c[2].cold_stamp = 3;  // least recent of the used
  c[3].cold_stamp = 5;
  run_scorer("no-hit-lru", c);
  CHECK(score_of(c[1], "no-hit-lru") == 1.0);
  CHECK(score_of(c[2], "no-hit-lru") == doctest::Approx(2.0 / 3));
  CHECK(score_of(c[3], "no-hit-lru") == doctest::Approx(1.0 / 3));
  CHECK(score_of(c[0], "no-hit-lru") == 0.0);

  c[3].prefix_blocks = 1;  // one block held anywhere: warm
  run_scorer("no-hit-lru", c);
  for (const EndpointSignals& s : c) CHECK(score_of(s, "no-hit-lru") == 0.5);

  std::vector<EndpointSignals> one(1);
  one[0].cold_stamp = 9;
  run_scorer("no-hit-lru", one);
  CHECK(score_of(one[0], "no-hit-lru") == 1.0);
}

TEST_CASE("no-hit-lru: the scheduler stamps the endpoint a cold request went to, so the next goes elsewhere") {
  SchedulerConfig config;
  config.weights = {};
  config.weights[slot_of("no-hit-lru")] = 1;
  config.session_affinity = false;
  PrefixIndex index;
  InflightCounters inflight;
  std::vector<EndpointState> pool = make_pool(3);
  for (const EndpointState& e : pool) inflight.ensure(e.id);
  EndpointSnapshot snapshot(pool);
  Scheduler scheduler(config, index, inflight);
  Rng rng(1);
  PickRequest request;
  request.model = "m";
  request.now = fresh_now();
  std::vector<EndpointId> seen;
  for (int i = 0; i < 3; ++i) {
    PickResult r = scheduler.pick(snapshot, request, rng);
    REQUIRE(r.ok());
    seen.push_back(r.endpoint);
  }
  std::sort(seen.begin(), seen.end());
  CHECK(std::unique(seen.begin(), seen.end()) == seen.end());  // each endpoint once
}

TEST_CASE("prefix-cache-affinity filter: sticky at the threshold, not below; none sticky keeps all") {
  SchedulerConfig config;
  CHECK(config.prefix_affinity.affinity_threshold == 0.80);
  CHECK(config.prefix_affinity.exploration_probability == 0.01);
  CHECK(config.prefix_affinity.max_ttft_penalty_ms == 5000);
  config.prefix_affinity.exploration_probability = 0;
  Rng rng(3);
  // 100 blocks: 80 held is exactly 0.80, 79 is below.
  std::vector<EndpointSignals> c{held(0, 79), held(1, 80), held(2, 0), held(3, 100)};
  const size_t kept = run_filter("prefix-cache-affinity", c, config, 100, rng);
  REQUIRE(kept == 2);
  CHECK(c[0].id == 1);  // the sticky ones first, in their order
  CHECK(c[1].id == 3);

  std::vector<EndpointSignals> none{held(0, 79), held(1, 10)};
  CHECK(run_filter("prefix-cache-affinity", none, config, 100, rng) == 2);
  std::vector<EndpointSignals> no_prompt{held(0, 0), held(1, 0)};
  CHECK(run_filter("prefix-cache-affinity", no_prompt, config, 0, rng) == 2);
}

TEST_CASE("prefix-cache-affinity filter: the TTFT gate breaks stickiness beyond maxTTFTPenaltyMs, not at it") {
  SchedulerConfig config;
  config.prefix_affinity.exploration_probability = 0;
  Rng rng(5);
  // Sticky server predicted 5000 ms slower than the other: exactly the penalty, still sticky.
  std::vector<EndpointSignals> at{held(0, 90, 5100, false), held(1, 0, 100, false)};
  CHECK(run_filter("prefix-cache-affinity", at, config, 100, rng) == 1);
  std::vector<EndpointSignals> beyond{held(0, 90, 5100.5, false), held(1, 0, 100, false)};
  CHECK(run_filter("prefix-cache-affinity", beyond, config, 100, rng) == 2);
  // Nothing learnt yet (every prediction cold): no gate, as llm-d without predictions.
  std::vector<EndpointSignals> cold{held(0, 90, 9000), held(1, 0, 100)};
  CHECK(run_filter("prefix-cache-affinity", cold, config, 100, rng) == 1);
  // 0 = always stick.
  config.prefix_affinity.max_ttft_penalty_ms = 0;
  std::vector<EndpointSignals> always{held(0, 90, 99000, false), held(1, 0, 100, false)};
  CHECK(run_filter("prefix-cache-affinity", always, config, 100, rng) == 1);
}

TEST_CASE(
    "prefix-cache-affinity filter: nothing sticks when the load guard calls every holder overloaded, unless llm-d's") {
  SchedulerConfig config;
  config.prefix_affinity.exploration_probability = 0;
  CHECK(config.filters[kPrefixAffinityFilterSlot]);  // ringgate's default profile runs it
  CHECK(config.prefix_affinity.yields);
  Rng rng(9);
  auto overloaded = [](EndpointSignals s) {
    s.overloaded = true;
    return s;
  };
  std::vector<EndpointSignals> c{overloaded(held(0, 100)), held(1, 90), held(2, 0)};
  REQUIRE(run_filter("prefix-cache-affinity", c, config, 100, rng) == 2);  // a holder is not: both stay
  CHECK(c[0].id == 0);
  CHECK(c[1].id == 1);
  std::vector<EndpointSignals> alone{overloaded(held(0, 100)), held(1, 0), held(2, 0)};
  CHECK(run_filter("prefix-cache-affinity", alone, config, 100, rng) == 3);  // the hot prompt spills
  std::vector<EndpointSignals> both{overloaded(held(0, 100)), overloaded(held(1, 90)), held(2, 0)};
  CHECK(run_filter("prefix-cache-affinity", both, config, 100, rng) == 3);
  PickRequest with_slo;  // latency objectives: the SLO-aware pick places it, unfiltered
  with_slo.slo.ttft_ms = 300;
  std::vector<EndpointSignals> slo{held(0, 100), held(1, 0), held(2, 0)};
  CHECK(run_filter("prefix-cache-affinity", slo, config, 100, rng, with_slo) == 3);
  config.prefix_affinity.yields = false;  // as an EndpointPickerConfig maps llm-d's filter
  std::vector<EndpointSignals> slo_llm_d{held(0, 100), held(1, 0), held(2, 0)};
  CHECK(run_filter("prefix-cache-affinity", slo_llm_d, config, 100, rng, with_slo) == 1);
  std::vector<EndpointSignals> llm_d{overloaded(held(0, 100)), held(1, 0), held(2, 0)};
  CHECK(run_filter("prefix-cache-affinity", llm_d, config, 100, rng) == 1);
}

TEST_CASE("prefix-cache-affinity filter: explorationProbability 1 always keeps all, 0 never") {
  SchedulerConfig config;
  Rng rng(7);
  config.prefix_affinity.exploration_probability = 1;
  std::vector<EndpointSignals> c{held(0, 100), held(1, 0)};
  CHECK(run_filter("prefix-cache-affinity", c, config, 100, rng) == 2);
  config.prefix_affinity.exploration_probability = 0;
  for (int i = 0; i < 100; ++i) {
    std::vector<EndpointSignals> d{held(0, 100), held(1, 0)};
    CHECK(run_filter("prefix-cache-affinity", d, config, 100, rng) == 1);
  }
  // The default 1%: about 1 in 100 draws skips the filter.
  config.prefix_affinity.exploration_probability = 0.01;
  int skipped = 0;
  for (int i = 0; i < 10000; ++i) {
    std::vector<EndpointSignals> d{held(0, 100), held(1, 0)};
    if (run_filter("prefix-cache-affinity", d, config, 100, rng) == 2) ++skipped;
  }
  CHECK(skipped > 50);
  CHECK(skipped < 200);
}
