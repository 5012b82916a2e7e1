// Scorer "latency" (issue 35): candidates ranked by the TTFT the latency model predicts
// for this request there (the coefficients the snapshot carries).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ringgate/sched/inflight_counters.h"
#include "ringgate/sched/prefix_hasher.h"
#include "ringgate/sched/prefix_index.h"
#include "ringgate/sched/scheduler.h"
#include "ringgate/sched/scorers.h"
#include "sched_test_support.h"

using namespace ringgate::sched;
using namespace ringgate::sched::test;

namespace {

// TTFT = per_ktoken x (uncached + in-flight prefill ktokens) + 5 ms a slot wait + bias.
LatencyCoefficients ttft(double per_ktoken, double bias, LatencySource source = LatencySource::Endpoint) {
  LatencyCoefficients c;
  c.ttft = {per_ktoken, 5, per_ktoken, bias};
  c.tpot = {0, 0, 10};
  c.ttft_source = c.tpot_source = source;
  return c;
}

}  // namespace

TEST_CASE("latency scorer: fastest predicted TTFT 1, slowest 0, linear between; neutral when equal or cold") {
  std::vector<EndpointState> v = make_pool(3);
  v[0].latency = ttft(100, 20);  // 20 + 100 x 1 = 120 ms for 1k uncached tokens
  v[1].latency = ttft(300, 60);  // 360 ms
  v[2].latency = ttft(200, 40);  // 240 ms
  EndpointSnapshot snap(std::move(v));
  std::vector<EndpointSignals> c(3);
  for (uint32_t i = 0; i < 3; ++i) c[i].index = i, c[i].id = i;
  PickRequest request;
  request.tokens_per_block = 16;
  run_scorer("latency", c, {}, /*total_blocks=*/62, &snap, request);  // 992 tokens
  CHECK(score_of(c[0], "latency") == doctest::Approx(1));
  CHECK(score_of(c[1], "latency") == doctest::Approx(0));
  CHECK(score_of(c[2], "latency") == doctest::Approx(0.5).epsilon(0.01));
  CHECK(c[1].predicted_ttft_ms == doctest::Approx(300 * 0.992 + 60));
  // The load the model knows of moves the ranking: 0 with 60 waiting is now the slowest.
  c[0].waiting = 60;
  for (auto& x : c) x.latency_predicted = false;  // predictions are made once a decision
  run_scorer("latency", c, {}, 62, &snap, request);
  CHECK(score_of(c[0], "latency") == doctest::Approx(0));
  CHECK(score_of(c[2], "latency") == doctest::Approx(1));
  c[0].waiting = 0;
  // A prefix the slow one holds entirely: nothing to prefill there, fastest now.
  c[1].prefix_blocks = 62;
  for (auto& x : c) x.latency_predicted = false;
  run_scorer("latency", c, {}, 62, &snap, request);
  CHECK(score_of(c[1], "latency") == doctest::Approx(1));
  c[1].prefix_blocks = 0;

  std::vector<EndpointState> same = make_pool(2);
  for (auto& e : same) e.latency = ttft(100, 20);
  EndpointSnapshot same_snap(std::move(same));
  std::vector<EndpointSignals> two(2);
  for (uint32_t i = 0; i < 2; ++i) two[i].index = i, two[i].id = i;
  run_scorer("latency", two, {}, 62, &same_snap, request);
  CHECK(score_of(two[0], "latency") == 1);
  CHECK(score_of(two[1], "latency") == 1);

  std::vector<EndpointState> cold = make_pool(2);
  cold[0].latency = ttft(100, 20, LatencySource::Cold);
  cold[1].latency = ttft(900, 20, LatencySource::Cold);
  EndpointSnapshot cold_snap(std::move(cold));
  for (auto& x : two) x.latency_predicted = false;
  run_scorer("latency", two, {}, 62, &cold_snap, request);
  CHECK(score_of(two[0], "latency") == 1);
  CHECK(score_of(two[1], "latency") == 1);  // a cold fit's numbers mean nothing yet
}

TEST_CASE("scheduler: {latency: 1, prefix: 3} keeps requests off a slow server that the default scorers use") {
  PrefixIndex index{100000, 1024};
  InflightCounters inflight;
  for (EndpointId i = 0; i < 3; ++i) inflight.ensure(i);
  std::vector<EndpointState> v = make_pool(3);
  v[0].latency = ttft(100, 20);
  v[1].latency = ttft(100, 20);
  v[2].latency = ttft(330, 66);  // 3.3x slower
  EndpointSnapshot snap(std::move(v));
  SchedulerConfig latency_config;
  latency_config.weights = {};
  latency_config.weights[slot_of("latency")] = 1;
  latency_config.weights[slot_of("prefix")] = 3;
  Scheduler by_latency(latency_config, index, inflight);
  Scheduler by_default(SchedulerConfig{}, index, inflight);
  CHECK(SchedulerConfig{}.weights[slot_of("latency")] == 0);  // off unless configured
  Rng rng;
  PrefixHasher hasher{64};
  int slow_latency = 0, slow_default = 0;
  for (int i = 0; i < 300; ++i) {
    // Short prompts, no whole block: no prefix score, no placement; only the load scores
    // (equal: an idle pool) or the latency scorer decide.
    const std::string prompt = "q" + std::to_string(i);
    std::vector<uint64_t> h;
    std::string_view part(prompt);
    hasher.hash("m", std::span<const std::string_view>(&part, 1), h);
    PickRequest r;
    r.model = "m";
    r.prefix_hashes = h;
    r.now = fresh_now();
    r.tokens_per_block = 16;
    PickResult a = by_latency.pick(snap, r, rng);
    PickResult b = by_default.pick(snap, r, rng);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    slow_latency += a.endpoint == 2;
    slow_default += b.endpoint == 2;
  }
  CHECK(slow_default >= 60);  // about a third: an idle pool ties, the prompt's key spreads them
  CHECK(slow_latency == 0);
  // Unseen long prompts: the rendezvous placement still homes them, but never on the slow
  // server (predicted 3.3x the fastest, past placement_max_ttft_ratio); the default
  // scorers' placement sends about a third there.
  int placed = 0, placed_slow = 0, placed_slow_default = 0;
  for (int i = 0; i < 150; ++i) {
    const std::string prompt = "unseen prompt " + std::to_string(i) + std::string(640, 'x');
    std::vector<uint64_t> h;
    std::string_view part(prompt);
    hasher.hash("m", std::span<const std::string_view>(&part, 1), h);
    PickRequest r;
    r.model = "m";
    r.prefix_hashes = h;
    r.now = fresh_now();
    r.tokens_per_block = 16;
    PickResult a = by_latency.pick(snap, r, rng);
    PickResult b = by_default.pick(snap, r, rng);
    placed += a.reason == PickReason::PrefixPlacement;
    placed_slow += a.endpoint == 2;
    placed_slow_default += b.endpoint == 2 && b.reason == PickReason::PrefixPlacement;
  }
  CHECK(placed >= 60);  // the fast servers' share of the homes still placed
  CHECK(placed_slow == 0);
  CHECK(placed_slow_default >= 30);
  // The scorer's time is its own plugin series.
  PickRequest r;
  r.model = "m";
  r.now = fresh_now();
  PickResult a = by_latency.pick(snap, r, rng);
  CHECK(a.step_ran[slot_of("latency")]);
  CHECK_FALSE(a.step_ran[slot_of("queue")]);
}
