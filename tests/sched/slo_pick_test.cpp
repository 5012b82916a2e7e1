// The SLO-aware pick (issue 35): llm-d's objectives, predicted from the coefficients the
// snapshot carries; the least headroom among those predicted to meet them, else the fastest.
#include "ringgate/sched/slo_pick.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ringgate/sched/inflight_counters.h"
#include "ringgate/sched/latency_prediction.h"
#include "ringgate/sched/prefix_hasher.h"
#include "ringgate/sched/prefix_index.h"
#include "ringgate/sched/scheduler.h"
#include "ringgate/sched/slo_targets.h"
#include "sched_test_support.h"

using namespace ringgate::sched;
using namespace ringgate::sched::test;

namespace {

// TTFT = per_ktoken x uncached ktokens + bias; TPOT = tpot_ms flat. Sourced from the
// endpoint's own fit (not cold).
LatencyCoefficients coefficients(double ttft_per_ktoken, double ttft_bias, double tpot_ms,
                                 LatencySource source = LatencySource::Endpoint) {
  LatencyCoefficients c;
  c.ttft = {ttft_per_ktoken, 0, ttft_per_ktoken, ttft_bias};  // in-flight prefill costs as much as its own
  c.tpot = {0, 0, tpot_ms};
  c.ttft_source = c.tpot_source = source;
  return c;
}

EndpointSignals candidate(double ttft, double tpot, double total = 0, uint64_t tie = 0) {
  EndpointSignals c;
  c.predicted_ttft_ms = c.predicted_ttft_p90_ms = ttft;  // no spread unless a test sets one
  c.predicted_tpot_ms = c.predicted_tpot_p90_ms = tpot;
  c.latency_cold = false;
  c.total = total;
  c.tie_rank = tie;
  return c;
}

}  // namespace

TEST_CASE("slo: header values parse strictly and within bounds, else no objective") {
  CHECK(parse_slo_ms("250") == 250);
  CHECK(parse_slo_ms("37.5") == doctest::Approx(37.5));
  CHECK(parse_slo_ms("0.5") == doctest::Approx(0.5));
  CHECK(parse_slo_ms("3600000") == 3600000);  // kMaxSloMs: one hour
  for (const char* bad : {"", "0", "0.0", "-5", "+5", " 5", "5 ", "5ms", "1e3", "inf", "nan", "0x10", "1.2.3", ".",
                          "3600000.1", "12345678901234567", "\xff"})
    CHECK_MESSAGE(parse_slo_ms(bad) == 0, bad);
}

TEST_CASE("slo: the least headroom among those predicted to meet both objectives") {
  SloTargets slo{300, 40};
  // 0: meets both with much room; 1: meets both with little; 2: TTFT fine, TPOT missed.
  std::vector<EndpointSignals> c = {candidate(100, 20), candidate(280, 35), candidate(50, 60)};
  auto pick = pick_for_slo(c, slo);
  REQUIRE(pick);
  CHECK(pick->position == 1);
  CHECK(pick->met);
  // Headroom is relative: 290/300 TTFT (3% left) is tighter than 30/40 TPOT (25% left).
  c = {candidate(290, 10), candidate(100, 30)};
  CHECK(pick_for_slo(c, slo)->position == 0);
  // Equal headroom: the higher score total, then the higher tie rank.
  c = {candidate(150, 20, 1.0), candidate(150, 20, 2.0)};
  CHECK(pick_for_slo(c, slo)->position == 1);
  c = {candidate(150, 20, 1.0, 9), candidate(150, 20, 1.0, 3)};
  CHECK(pick_for_slo(c, slo)->position == 0);
}

TEST_CASE("slo: met and headroom are read on the p90s, not the means") {
  const SloTargets slo{300, 40};
  // 0's mean leaves the least room, but its p90 is past the objective: 1 is the least of
  // those whose p90 meets it.
  std::vector<EndpointSignals> c = {candidate(250, 20), candidate(200, 20), candidate(100, 20)};
  c[0].predicted_ttft_p90_ms = 301;
  c[1].predicted_ttft_p90_ms = 290;
  c[2].predicted_ttft_p90_ms = 150;
  CHECK_FALSE(meets_slo(c[0], slo));
  CHECK(meets_slo(c[1], slo));
  auto pick = pick_for_slo(c, slo);
  REQUIRE(pick);
  CHECK(pick->position == 1);
  CHECK(pick->met);
  c[0].predicted_ttft_p90_ms = 300;  // at the objective: met
  CHECK(pick_for_slo(c, slo)->position == 0);
  // TPOT the same way: a mean within 40 ms whose p90 is not.
  c = {candidate(100, 35), candidate(100, 20)};
  c[0].predicted_tpot_p90_ms = 40.5;
  CHECK(pick_for_slo(c, slo)->position == 1);
  // Nobody's p90 meets: the fastest by the mean, as before.
  c = {candidate(200, 20), candidate(150, 20)};
  c[0].predicted_ttft_p90_ms = c[1].predicted_ttft_p90_ms = 400;
  pick = pick_for_slo(c, slo);
  CHECK(pick->position == 1);
  CHECK_FALSE(pick->met);
}

TEST_CASE("slo: the most headroom instead (llm-d's \"most\"); unmet objectives are placed as with the least") {
  const SloTargets slo{300, 40};
  std::vector<EndpointSignals> c = {candidate(100, 20), candidate(280, 35), candidate(50, 60)};
  auto pick = pick_for_slo(c, slo, HeadroomStrategy::Most);
  REQUIRE(pick);
  CHECK(pick->position == 0);  // 67% of TTFT and 50% of TPOT to spare; 2 misses TPOT
  CHECK(pick->met);
  c = {candidate(290, 10), candidate(100, 30)};  // 3% against 25%
  CHECK(pick_for_slo(c, slo, HeadroomStrategy::Most)->position == 1);
  // Equal headroom: the same ties as the least.
  c = {candidate(150, 20, 1.0), candidate(150, 20, 2.0)};
  CHECK(pick_for_slo(c, slo, HeadroomStrategy::Most)->position == 1);
  // Nobody meets them: the strategy plays no part.
  c = {candidate(400, 20), candidate(350, 60), candidate(500, 70)};
  for (HeadroomStrategy s : {HeadroomStrategy::Least, HeadroomStrategy::Most}) {
    pick = pick_for_slo(c, slo, s);
    REQUIRE(pick);
    CHECK_FALSE(pick->met);
    CHECK(pick->position == 1);  // parked: the fastest of those missing TPOT
  }
}

TEST_CASE("slo: none predicted to meet them: the fastest") {
  std::vector<EndpointSignals> c = {candidate(900, 20), candidate(400, 90), candidate(700, 10)};
  auto pick = pick_for_slo(c, SloTargets{300, 40});
  REQUIRE(pick);
  CHECK_FALSE(pick->met);
  CHECK(pick->position == 1);  // by TTFT, the objective that is set first
  pick = pick_for_slo(c, SloTargets{0, 5});  // only TPOT: by TPOT
  CHECK(pick->position == 2);
  // Nobody in time, one server too slow to decode within the TPOT objective however idle:
  // parked there, not on the fast one (which stays free for requests it can serve in time).
  std::vector<EndpointSignals> busy_fast = {candidate(320, 20), candidate(350, 50)};
  pick = pick_for_slo(busy_fast, SloTargets{300, 40});
  CHECK_FALSE(pick->met);
  CHECK(pick->position == 1);
  pick = pick_for_slo(busy_fast, SloTargets{300, 0});  // no TPOT objective: the fastest
  CHECK(pick->position == 0);
  // Not parked where it would wait past its TTFT objective and 4x the fastest's TTFT
  // (a server slowed 10x, its awaiting requests seconds old): the fastest instead.
  std::vector<EndpointSignals> slowed = {candidate(320, 20), candidate(3500, 200)};
  pick = pick_for_slo(slowed, SloTargets{300, 40});
  CHECK_FALSE(pick->met);
  CHECK(pick->position == 0);
  slowed[1] = candidate(1200, 200);  // within 4x the fastest: parked
  CHECK(pick_for_slo(slowed, SloTargets{300, 40})->position == 1);
  // One objective only: the other prediction does not matter.
  pick = pick_for_slo(c, SloTargets{0, 25});
  CHECK(pick->met);
  CHECK(pick->position == 0);  // 20 of 25: less headroom than 10 of 25
}

TEST_CASE("slo: no decision without objectives, candidates, or while every prediction is cold") {
  std::vector<EndpointSignals> c = {candidate(100, 20), candidate(200, 30)};
  CHECK_FALSE(pick_for_slo(c, SloTargets{}));
  CHECK_FALSE(pick_for_slo({}, SloTargets{300, 40}));
  for (auto& x : c) x.latency_cold = true;
  CHECK_FALSE(pick_for_slo(c, SloTargets{300, 40}));
  c[0].latency_cold = false;
  CHECK(pick_for_slo(c, SloTargets{300, 40}));
}

TEST_CASE("latency prediction: features per candidate from its prefix match, queue and in-flight prefill") {
  EndpointSignals c;
  c.prefix_blocks = 3;
  c.waiting = 2;
  c.running = 5;
  c.kv_usage = 0.5;
  c.inflight_prefill_tokens = 1000;
  LatencyFeatures f = latency_features(c, 10, 16);
  CHECK(f.ttft.uncached_prompt_tokens == 7 * 16);
  CHECK(f.ttft.slot_waits == 2);  // its slots not known yet: the scraped waiting
  CHECK(f.ttft.inflight_prefill_tokens == 1000);
  // Slots known (8): this request and the 7 there (scraped) fit, it waits for none.
  c.slots = 8;
  CHECK(latency_features(c, 10, 16).ttft.slot_waits == 0);
  // The gateway's own 11 in flight there (fresher than the scrape) leave it behind 3
  // queued: it waits for 4 sequences to end.
  c.inflight = 11;
  CHECK(latency_features(c, 10, 16).ttft.slot_waits == 4);
  // Clients that bypass the gateway: the scrape's count when it is the larger.
  c.inflight = 1;
  c.waiting = 6;
  c.running = 8;
  CHECK(latency_features(c, 10, 16).ttft.slot_waits == 7);
  // Room: 3 there and 2 of ours, this one fits.
  c.waiting = 0;
  c.running = 3;
  c.inflight = 2;
  CHECK(latency_features(c, 10, 16).ttft.slot_waits == 0);
  c.waiting = 2;
  c.running = 5;
  c.inflight = 0;
  c.slots = 0;
  CHECK(f.tpot.running == 5);
  CHECK(f.tpot.batched_tokens == 1005);
  c.prefix_blocks = 50;  // more than the request has (hostile or stale): nothing uncached, no wrap
  CHECK(latency_features(c, 10, 16).ttft.uncached_prompt_tokens == 0);
  CHECK(latency_features(c, 10, -3).ttft.uncached_prompt_tokens == 0);
}

TEST_CASE("scheduler: an SLO request goes where it is predicted to fit tightest; one no server meets to the fastest") {
  PrefixIndex index{100000, 1024};
  InflightCounters inflight;
  for (EndpointId i = 0; i < 3; ++i) inflight.ensure(i);
  std::vector<EndpointState> v = make_pool(3);
  // 0 and 1 fast (1 slightly slower, so tighter), 2 three times slower.
  v[0].latency = coefficients(100, 20, 20);
  v[1].latency = coefficients(120, 20, 25);
  v[2].latency = coefficients(300, 60, 70);
  EndpointSnapshot snap(std::move(v));
  Scheduler s(SchedulerConfig{}, index, inflight);
  Rng rng;
  PrefixHasher hasher{64};
  const std::string prompt(64 * 40, 'x');  // ~40 blocks: ~640 tokens at 16 a block
  std::vector<uint64_t> h;
  std::string_view part(prompt);
  hasher.hash("m", std::span<const std::string_view>(&part, 1), h);
  PickRequest r;
  r.model = "m";
  r.prefix_hashes = h;
  r.now = fresh_now();
  r.tokens_per_block = 16;
  // Predicted TTFT: 0: ~84 ms, 1: ~97 ms, 2: ~252 ms; TPOT 20, 25, 70.
  r.slo = {150, 40};
  PickResult p = s.pick(snap, r, rng);
  REQUIRE(p.ok());
  CHECK(p.reason == PickReason::Slo);
  CHECK(p.slo_met);
  CHECK(p.endpoint == 1);  // meets both with the least to spare
  SchedulerConfig spread;
  spread.headroom_strategy = HeadroomStrategy::Most;
  Scheduler most(spread, index, inflight);
  CHECK(most.pick(snap, r, rng).endpoint == 0);                          // configured: the most to spare
  CHECK(p.features.ttft.uncached_prompt_tokens == p.total_blocks * 16);  // nothing held anywhere
  CHECK(p.predicted_ttft_ms == doctest::Approx(120 * p.total_blocks * 16 / 1000.0 + 20));
  {
    // A spread of 20 ms + 10 ms per 1k uncached tokens at 1 (~26 ms): its p90 (~140 ms) still
    // meets 150 ms; 40 ms + 10 ms per 1k (~46 ms: p90 ~171 ms) does not, and 0 is picked.
    std::vector<EndpointState> w(snap.endpoints().begin(), snap.endpoints().end());
    w[1].latency.ttft_spread = {10, 0, 10, 20};
    EndpointSnapshot spread_snap{std::vector<EndpointState>(w)};
    PickResult q = s.pick(spread_snap, r, rng);
    CHECK(q.endpoint == 1);
    for (const EndpointSignals& c : s.last_candidates())
      if (c.id == 1)
        CHECK(c.predicted_ttft_p90_ms ==
              doctest::Approx(c.predicted_ttft_ms + kP90Spread * (10 * q.total_blocks * 16 / 1000.0 + 20)));
    w[1].latency.ttft_spread = {10, 0, 10, 40};
    EndpointSnapshot wide_snap(std::move(w));
    q = s.pick(wide_snap, r, rng);
    CHECK(q.endpoint == 0);
    CHECK(q.slo_met);
  }
  // In-flight prefill at 1 (a long prompt just sent there) takes it past the objective.
  inflight.add_awaiting(1, 2000, 0);
  p = s.pick(snap, r, rng);
  CHECK(p.endpoint == 0);
  CHECK(p.features.ttft.inflight_prefill_tokens == 0);
  inflight.sub_awaiting(1, 2000, 0);
  // A request there 5 s without its first token: the server is slower than its fit says,
  // whatever the fit predicts (the awaiting requests' mean age is a floor under it).
  const int64_t sent_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(r.now.time_since_epoch()).count() - 5000;
  inflight.add_awaiting(1, 0, sent_ms);
  p = s.pick(snap, r, rng);
  CHECK(p.endpoint == 0);
  REQUIRE(s.last_candidates().size() == 3);
  for (const EndpointSignals& c : s.last_candidates())
    if (c.id == 1) CHECK(c.predicted_ttft_ms >= 5000);
  inflight.sub_awaiting(1, 0, sent_ms);
  p = s.pick(snap, r, rng);
  CHECK(p.endpoint == 1);
  // Objectives nobody meets: the fastest.
  r.slo = {10, 0};
  p = s.pick(snap, r, rng);
  CHECK(p.reason == PickReason::Slo);
  CHECK_FALSE(p.slo_met);
  CHECK(p.endpoint == 0);
  // Without objectives the scores decide (and the slow one is as good as any).
  r.slo = {};
  p = s.pick(snap, r, rng);
  CHECK(p.reason != PickReason::Slo);
  // One of several replicas sends an unseen prompt to its rendezvous home, but a request
  // with objectives still goes where the SLO-aware pick says.
  snap.set_gateway_replicas(3);
  CHECK(s.pick(snap, r, rng).reason == PickReason::PrefixPlacement);
  r.slo = {150, 40};
  p = s.pick(snap, r, rng);
  CHECK(p.reason == PickReason::Slo);
  CHECK(p.endpoint == 1);
  snap.set_gateway_replicas(1);
  // A cold model decides nothing: scores again.
  std::vector<EndpointState> cold = make_pool(3);
  for (auto& e : cold) e.latency = coefficients(100, 20, 20, LatencySource::Cold);
  EndpointSnapshot cold_snap(std::move(cold));
  r.slo = {150, 40};
  CHECK(s.pick(cold_snap, r, rng).reason != PickReason::Slo);
}

TEST_CASE("scheduler: under flow control a sheddable request nobody can serve in time is shed, unless a server is idle") {
  PrefixIndex index{100000, 1024};
  InflightCounters inflight;
  for (EndpointId i = 0; i < 2; ++i) inflight.ensure(i);
  std::vector<EndpointState> v = make_pool(2);
  v[0].latency = coefficients(100, 20, 20);
  v[1].latency = coefficients(300, 60, 70);
  EndpointSnapshot snap(std::move(v));
  Scheduler s(SchedulerConfig{}, index, inflight);
  Rng rng;
  PickRequest r;
  r.model = "m";
  r.now = fresh_now();
  r.slo = {5, 0};  // faster than either: nobody meets it
  r.sheddable = true;
  r.hold_when_saturated = true;
  // Both idle: served, by the fastest (a stale prediction is no reason to refuse an idle server).
  PickResult p = s.pick(snap, r, rng);
  REQUIRE(p.ok());
  CHECK(p.endpoint == 0);
  // Both busy: shed.
  inflight.add(0);
  inflight.add(1);
  p = s.pick(snap, r, rng);
  CHECK(p.status == PickStatus::SloUnattainable);
  CHECK(std::string(to_string(p.status)).find("latency objectives") != std::string::npos);
  // Not sheddable, or no flow control, or an objective someone meets: served.
  r.sheddable = false;
  CHECK(s.pick(snap, r, rng).ok());
  r.sheddable = true;
  r.hold_when_saturated = false;
  CHECK(s.pick(snap, r, rng).ok());
  r.hold_when_saturated = true;
  r.slo = {500, 0};
  CHECK(s.pick(snap, r, rng).ok());
  // A cold model decides nothing, sheds nothing.
  std::vector<EndpointState> cold = make_pool(2);
  for (auto& e : cold) e.latency = coefficients(100, 20, 20, LatencySource::Cold);
  EndpointSnapshot cold_snap(std::move(cold));
  r.slo = {5, 0};
  CHECK(s.pick(cold_snap, r, rng).ok());
}
