// The latency model's path through the control thread (issue 35): samples a worker puts
// in its ring -> LatencyLearner::drain() -> sched::LatencyModel -> the coefficients the
// next snapshot carries (EndpointPool::build_snapshot) -> what a worker predicts; and
// what /debug/endpoints and /metrics show of it.
#include "ringgate/control/latency_learner.h"

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

#include "ringgate/control/endpoint_pool.h"

using namespace ringgate;
using namespace ringgate::control;

namespace {

// A server whose TTFT is `per_ktoken` ms per uncached prompt ktoken plus 20 ms, and
// whose TPOT is 10 ms + 0.5 ms a running sequence, all over `speed`.
sched::LatencySample sample(sched::EndpointId id, double speed, int i) {
  sched::LatencySample s;
  s.endpoint = id;
  s.features.ttft.uncached_prompt_tokens = 200 + (i * 37) % 1800;
  s.features.ttft.slot_waits = i % 8;
  s.features.tpot.running = i % 8;
  s.features.tpot.batched_tokens = i % 8;
  const double ttft_ms = (20 + 100 * s.features.ttft.uncached_prompt_tokens / 1000) / speed;
  const double tpot_ms = (10 + 0.5 * s.features.tpot.running) / speed;
  s.ttft_ns = uint64_t(ttft_ms * 1e6);
  s.tpot_ns = uint64_t(tpot_ms * 1e6);
  return s;
}

void put(sched::LatencySampleRing& ring, const sched::LatencySample& s) {
  sched::LatencySample* slot = ring.claim();
  REQUIRE(slot);
  *slot = s;
  ring.commit();
}

}  // namespace

TEST_CASE("latency learner: workers' samples -> model -> the next snapshot's coefficients -> predictions") {
  EpollLoop loop;
  sched::EndpointRegistry registry;
  PoolOptions options;
  options.poll_interval = std::chrono::hours(1);  // no server answers: only membership matters here
  EndpointPool pool(loop, registry, options);
  pool.set_members({{"127.0.0.1", 1, true, ""}, {"127.0.0.1", 2, true, ""}});
  auto first = pool.build_snapshot();
  REQUIRE(first->size() == 2);
  const sched::EndpointId fast = first->at(0).address.port == 1 ? first->at(0).id : first->at(1).id;
  const sched::EndpointId slow = first->at(0).address.port == 2 ? first->at(0).id : first->at(1).id;

  LatencyLearner learner(3, 256);
  learner.ensure(fast);
  learner.ensure(slow);
  CHECK_FALSE(learner.drain());  // nothing yet
  // Two workers (slots 0 and 1) report at once, as the data path does; the control thread drains.
  for (int round = 0; round < 4; ++round) {
    std::thread a([&] {
      for (int i = 0; i < 50; ++i) put(learner.rings()[0], sample(fast, 1.0, round * 50 + i));
    });
    std::thread b([&] {
      for (int i = 0; i < 50; ++i) put(learner.rings()[1], sample(slow, 0.3, round * 50 + i));
    });
    a.join();
    b.join();
    CHECK(learner.drain());
  }
  CHECK(learner.samples() == 2 * 2 * 200);  // TTFT and TPOT of each sample
  CHECK(learner.refused() == 0);

  auto snap = pool.build_snapshot(&learner.model());
  const auto& ef = snap->at(size_t(snap->index_of(fast)));
  const auto& es = snap->at(size_t(snap->index_of(slow)));
  CHECK(ef.latency.ttft_source == sched::LatencySource::Endpoint);
  CHECK(es.latency.tpot_source == sched::LatencySource::Endpoint);
  // The scoring view (what workers read per candidate) carries the same copy.
  CHECK(snap->scoring_view(size_t(snap->index_of(slow))).latency.ttft == es.latency.ttft);
  sched::TtftFeatures f;
  f.uncached_prompt_tokens = 1000;
  f.slot_waits = 2;
  const double fast_ttft = ef.latency.predict_ttft(f).ms, slow_ttft = es.latency.predict_ttft(f).ms;
  CHECK(fast_ttft == doctest::Approx(120).epsilon(0.05));
  CHECK(slow_ttft == doctest::Approx(400).epsilon(0.05));
  sched::TpotFeatures t;
  t.running = 4;
  t.batched_tokens = 4;
  CHECK(es.latency.predict_tpot(t).ms == doctest::Approx(12 / 0.3).epsilon(0.05));
  // Without a model (the pool's default), no coefficients: cold zeros.
  CHECK(pool.build_snapshot()->at(0).latency.ttft_source == sched::LatencySource::Cold);

  // What the admin pages show.
  std::string json;
  learner.append_endpoint_json(json, slow);
  CHECK(json.find(R"("ttft":{"source":"endpoint","samples":200)") != std::string::npos);
  CHECK(json.find(R"("uncached_prompt_ktokens":)") != std::string::npos);
  std::string pool_json;
  learner.append_pool_json(pool_json);
  CHECK(pool_json.find(R"("samples":400)") != std::string::npos);
  std::string metrics;
  learner.append_metrics(metrics, snap.get());
  CHECK(metrics.find("# TYPE ringgate_latency_prediction_error_ratio gauge") != std::string::npos);
  CHECK(metrics.find(R"(ringgate_latency_prediction_error_ratio{endpoint="127.0.0.1:2",kind="ttft"} )") !=
        std::string::npos);
  CHECK(metrics.find(R"(ringgate_latency_prediction_error_ratio{endpoint="127.0.0.1:1",kind="tpot"} )") !=
        std::string::npos);
  CHECK(metrics.find(R"(ringgate_latency_samples{endpoint="127.0.0.1:1",kind="ttft"} 200)") != std::string::npos);
  CHECK(metrics.find("ringgate_latency_samples_total 800") != std::string::npos);
  // A noise-free server is fitted to well under a percent once warm.
  CHECK(learner.model().describe(fast).ttft.relative_mean_abs_error < 0.01);
}

TEST_CASE("latency learner: hostile samples are refused and counted, a full ring drops and counts") {
  LatencyLearner learner(1, 4);
  learner.ensure(0);
  sched::LatencySample s = sample(0, 1, 1);
  s.endpoint = 7;  // never ensured (not in the pool)
  put(learner.rings()[0], s);
  s.endpoint = sched::kNoEndpoint;
  put(learner.rings()[0], s);
  s.endpoint = 0;
  s.ttft_ns = uint64_t(4e6 * 1e6);  // past an hour: refused
  s.tpot_ns = 0;                    // not measured: not observed
  put(learner.rings()[0], s);
  CHECK_FALSE(learner.drain());
  CHECK(learner.samples() == 0);
  CHECK(learner.refused() == 5);  // 2 + 2 unknown ids (TTFT and TPOT), 1 too long
  for (int i = 0; i < 4; ++i) put(learner.rings()[0], sample(0, 1, i));
  CHECK(learner.rings()[0].claim() == nullptr);  // full: the worker drops, never waits
  CHECK(learner.dropped() == 1);
  CHECK(learner.drain());
  CHECK(learner.samples() == 8);
  // A released id starts over (its next holder is another server).
  learner.reset(0);
  CHECK(learner.model().describe(0).ttft.samples == 0);
}
