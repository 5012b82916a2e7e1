// Cost of the latency model (include/ringgate/sched/latency_model.h): one observed
// response (an RLS update of the endpoint's fit and the pool's, on the control thread),
// one prediction from published coefficients (what a worker would pay per candidate),
// and the copy of an endpoint's coefficients into a snapshot. Google Benchmark's time
// per iteration is the ns per operation. Not a test: run by hand,
//   ./build/perf/latency_model/latency_model_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <array>
#include <random>

#include "ringgate/sched/latency_model.h"

using namespace ringgate::sched;

namespace {

constexpr size_t kInputs = 1024;  // precomputed, so the loop times the model, not the RNG
constexpr EndpointId kEndpoints = 16;

struct Inputs {
  std::array<TtftFeatures, kInputs> ttft;
  std::array<TpotFeatures, kInputs> tpot;
  std::array<double, kInputs> ttft_ms, tpot_ms;
  Inputs() {
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> u(0, 1);
    for (size_t i = 0; i < kInputs; ++i) {
      ttft[i] = {4000 * u(rng), double(int(8 * u(rng))), 6000 * u(rng)};
      tpot[i] = {double(int(64 * u(rng))), 8192 * u(rng)};
      ttft_ms[i] = (20 + 40 * ttft[i].uncached_prompt_tokens / 1000 + 15 * ttft[i].slot_waits) * (0.97 + 0.06 * u(rng));
      tpot_ms[i] = (8 + 0.3 * tpot[i].running + 4 * tpot[i].batched_tokens / 1000) * (0.97 + 0.06 * u(rng));
    }
  }
};
const Inputs& inputs() {
  static const Inputs in;
  return in;
}

LatencyModel& warm_model() {
  static LatencyModel m = [] {
    LatencyModel model;
    const Inputs& in = inputs();
    for (EndpointId id = 0; id < kEndpoints; ++id) {
      model.ensure(id);
      for (size_t i = 0; i < 100; ++i) {
        model.observe_ttft(id, in.ttft[i], in.ttft_ms[i]);
        model.observe_tpot(id, in.tpot[i], in.tpot_ms[i]);
      }
    }
    return model;
  }();
  return m;
}

void BM_observe_ttft(benchmark::State& state) {
  LatencyModel& m = warm_model();
  const Inputs& in = inputs();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.observe_ttft(EndpointId(i % kEndpoints), in.ttft[i % kInputs], in.ttft_ms[i % kInputs]));
    ++i;
  }
}
BENCHMARK(BM_observe_ttft);

void BM_observe_tpot(benchmark::State& state) {
  LatencyModel& m = warm_model();
  const Inputs& in = inputs();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.observe_tpot(EndpointId(i % kEndpoints), in.tpot[i % kInputs], in.tpot_ms[i % kInputs]));
    ++i;
  }
}
BENCHMARK(BM_observe_tpot);

// A worker's prediction: from coefficients copied out once (as a snapshot holds them).
void BM_predict_ttft(benchmark::State& state) {
  const LatencyCoefficients c = warm_model().coefficients(3);
  const Inputs& in = inputs();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(c.predict_ttft(in.ttft[i % kInputs]));
    ++i;
  }
}
BENCHMARK(BM_predict_ttft);

void BM_predict_tpot(benchmark::State& state) {
  const LatencyCoefficients c = warm_model().coefficients(3);
  const Inputs& in = inputs();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(c.predict_tpot(in.tpot[i % kInputs]));
    ++i;
  }
}
BENCHMARK(BM_predict_tpot);

// The control thread, building a snapshot: one endpoint's coefficients (fallback included).
void BM_coefficients(benchmark::State& state) {
  const LatencyModel& m = warm_model();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.coefficients(EndpointId(i % kEndpoints)));
    ++i;
  }
}
BENCHMARK(BM_coefficients);

}  // namespace

BENCHMARK_MAIN();
