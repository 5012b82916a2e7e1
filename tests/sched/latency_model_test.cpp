#include "ringgate/sched/latency_model.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

using namespace ringgate::sched;

namespace {

// A server's "true" TTFT law in ms: 20 ms + 40 ms per 1k uncached tokens + 15 ms per
// slot wait + 25 ms per 1k in-flight prefill tokens; `speed` divides it all, as
// ringgate-sim's --speed.
double ttft_law(const TtftFeatures& f, double speed = 1) {
  return (20 + 40 * f.uncached_prompt_tokens / 1000 + 15 * f.slot_waits + 25 * f.inflight_prefill_tokens / 1000) /
         speed;
}
// TPOT: 8 ms + 0.3 ms per running sequence + 4 ms per 1k batched tokens.
double tpot_law(const TpotFeatures& f, double speed = 1) {
  return (8 + 0.3 * f.running + 4 * f.batched_tokens / 1000) / speed;
}

struct Load {
  std::mt19937_64 rng{42};
  TtftFeatures ttft() {
    std::uniform_real_distribution<double> u(0, 1);
    return {4000 * u(rng), std::floor(8 * u(rng)), 6000 * u(rng)};
  }
  TpotFeatures tpot() {
    std::uniform_real_distribution<double> u(0, 1);
    return {std::floor(64 * u(rng)), 8192 * u(rng)};
  }
  // Multiplicative noise of +-`pct` percent.
  double noise(double pct) { return 1 + pct / 100 * std::uniform_real_distribution<double>(-1, 1)(rng); }
};

double rel_err(double got, double want) { return std::fabs(got - want) / want; }

// Mean relative error of the model's predictions for `id` over fresh loads.
double mean_ttft_error(const LatencyModel& m, EndpointId id, Load& load, double speed = 1, int n = 200) {
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    const TtftFeatures f = load.ttft();
    sum += rel_err(m.predict_ttft(id, f).ms, ttft_law(f, speed));
  }
  return sum / n;
}

}  // namespace

TEST_CASE("learns a linear TTFT and TPOT law within a few percent after a few hundred noisy samples") {
  LatencyModel m;
  REQUIRE(m.ensure(0));
  Load load;
  for (int i = 0; i < 300; ++i) {
    const TtftFeatures f = load.ttft();
    REQUIRE(m.observe_ttft(0, f, ttft_law(f) * load.noise(3)));
    const TpotFeatures g = load.tpot();
    REQUIRE(m.observe_tpot(0, g, tpot_law(g) * load.noise(3)));
  }
  CHECK(mean_ttft_error(m, 0, load) < 0.02);
  double tpot_err = 0;
  for (int i = 0; i < 200; ++i) {
    const TpotFeatures g = load.tpot();
    tpot_err += rel_err(m.predict_tpot(0, g).ms, tpot_law(g)) / 200;
  }
  CHECK(tpot_err < 0.02);

  const LatencyCoefficients c = m.coefficients(0);
  CHECK(c.ttft_source == LatencySource::Endpoint);
  CHECK(c.tpot_source == LatencySource::Endpoint);
  CHECK(c.ttft[0] == doctest::Approx(40).epsilon(0.05));  // ms per 1k uncached tokens
  CHECK(c.ttft[1] == doctest::Approx(15).epsilon(0.05));  // ms per slot wait
  CHECK(c.ttft[2] == doctest::Approx(25).epsilon(0.05));  // ms per 1k in-flight prefill tokens
  CHECK(c.ttft[3] == doctest::Approx(20).epsilon(0.15));  // bias
  CHECK(c.tpot[0] == doctest::Approx(0.3).epsilon(0.1));

  const EndpointLatencyReport r = m.describe(0);
  CHECK(r.ttft.samples == 300);
  REQUIRE(r.ttft.coefficients.size() == kTtftFeatureNames.size());
  CHECK(r.ttft.coefficients[0] == c.ttft[0]);
  CHECK(r.tpot.coefficients.size() == kTpotFeatureNames.size());
  // The running error is the a priori one, so it reflects the noise once warmed up (3%
  // uniform: mean 1.5%), not the early misses.
  CHECK(r.ttft.relative_mean_abs_error < 0.03);
  CHECK(r.ttft.relative_mean_abs_error > 0.005);
  // Against the mean latency: about the same for a law with no small values to blow up.
  CHECK(r.ttft.normalized_mean_abs_error < 0.03);
  CHECK(r.ttft.normalized_mean_abs_error > 0.003);
  CHECK(r.ttft.mean_abs_error_ms > 0);
}

TEST_CASE("follows a server that becomes 2.5x slower (forgetting)") {
  LatencyModel m;
  REQUIRE(m.ensure(3));
  Load load;
  for (int i = 0; i < 300; ++i) {
    const TtftFeatures f = load.ttft();
    m.observe_ttft(3, f, ttft_law(f));
  }
  for (int i = 0; i < 400; ++i) {
    const TtftFeatures f = load.ttft();
    m.observe_ttft(3, f, ttft_law(f, 0.4));
  }
  CHECK(mean_ttft_error(m, 3, load, 0.4) < 0.05);
}

TEST_CASE("an endpoint with few samples is predicted by the pool's model until it has its own") {
  LatencyModel m;
  REQUIRE(m.ensure(0));
  REQUIRE(m.ensure(1));
  Load load;
  CHECK(m.coefficients(1).ttft_source == LatencySource::Cold);
  for (int i = 0; i < 200; ++i) {
    const TtftFeatures f = load.ttft();
    m.observe_ttft(0, f, ttft_law(f));
  }
  // Endpoint 1 is 2.5x slower; a handful of its samples alone would fit anything.
  for (uint32_t i = 0; i + 1 < kMinSamples; ++i) {
    const TtftFeatures f = load.ttft();
    m.observe_ttft(1, f, ttft_law(f, 0.4));
  }
  const TtftFeatures probe{2000, 2, 1000};
  LatencyPrediction p = m.predict_ttft(1, probe);
  CHECK(p.source == LatencySource::Pool);
  // The pool's fit: mostly endpoint 0's law, pulled up by endpoint 1's few samples.
  CHECK(p.ms > ttft_law(probe) * 0.9);
  CHECK(p.ms < ttft_law(probe, 0.4));
  CHECK(m.describe(1).ttft_source == LatencySource::Pool);
  CHECK(m.describe(1).ttft.samples == kMinSamples - 1);
  // An id never ensured is the pool's too, and learns nothing.
  CHECK(m.predict_ttft(7, probe).source == LatencySource::Pool);
  CHECK_FALSE(m.observe_ttft(7, probe, 100));
  CHECK(m.describe(7).ttft.samples == 0);

  for (int i = 0; i < 200; ++i) {
    const TtftFeatures f = load.ttft();
    m.observe_ttft(1, f, ttft_law(f, 0.4));
  }
  p = m.predict_ttft(1, probe);
  CHECK(p.source == LatencySource::Endpoint);
  CHECK(rel_err(p.ms, ttft_law(probe, 0.4)) < 0.05);
  CHECK(rel_err(m.predict_ttft(0, probe).ms, ttft_law(probe)) < 0.05);  // each its own

  // The id leaves the pool: its next holder starts from the pool's model again.
  m.reset(1);
  CHECK(m.predict_ttft(1, probe).source == LatencySource::Pool);
  CHECK(m.describe(1).ttft.samples == 0);
}

TEST_CASE("the reported error scores the predictions a fit is used for, not its guesses while it had too few samples") {
  LatencyModel m;
  REQUIRE(m.ensure(0));
  Load load;
  // A noise-free law: the fit is exact after a handful of samples (4 coefficients), but
  // its first guesses (0 ms: relative error 1) are not what it is used for.
  for (uint32_t i = 0; i + 1 < kMinSamples; ++i) {
    const TtftFeatures f = load.ttft();
    REQUIRE(m.observe_ttft(0, f, ttft_law(f)));
  }
  EndpointLatencyReport r = m.describe(0);
  CHECK(r.ttft.error_samples == 0);
  CHECK(r.ttft.relative_mean_abs_error == 0);
  for (int i = 0; i < 6; ++i) {
    const TtftFeatures f = load.ttft();
    REQUIRE(m.observe_ttft(0, f, ttft_law(f)));
  }
  r = m.describe(0);
  CHECK(r.ttft_source == LatencySource::Endpoint);
  CHECK(r.ttft.samples == kMinSamples + 5);
  CHECK(r.ttft.error_samples == 5);  // the 21st to the 25th: made by a fit with 20 or more
  CHECK(r.ttft.relative_mean_abs_error < 0.01);
  CHECK(r.ttft.normalized_mean_abs_error < 0.01);
  // The clip's scale still learns from the first sample on.
  CHECK(r.ttft.mean_abs_error_ms > 0);
  std::string out;
  append_json(out, r);
  CHECK(out.find(R"("samples":25,"error_samples":5,)") != std::string::npos);

  // A change after that is scored at once: a plain mean of the first errors, not an EWMA
  // that starts from the first one and needs ~20 to forget it.
  for (int i = 0; i < 2; ++i) {
    const TtftFeatures f = load.ttft();
    REQUIRE(m.observe_ttft(0, f, 2 * ttft_law(f)));
  }
  CHECK(m.describe(0).ttft.relative_mean_abs_error > 0.1);
  m.reset(0);
  CHECK(m.describe(0).ttft.error_samples == 0);
}

TEST_CASE("an overloaded start (answers 30x the law for a while) does not own the fit once the queue is gone") {
  // A cold pool takes a burst: its first answers wait seconds behind each other, in ways
  // the features do not tell (ringgate-sim's first 20 answers on a slow server: 1.6-3.8 s,
  // then ~90 ms). The error's mean is then as large as the errors, so nothing is clipped
  // and no run of clipped residuals says "change"; predictions over twice the latency, four
  // in a row, do.
  LatencyModel m;
  REQUIRE(m.ensure(0));
  Load load;
  for (int i = 0; i < 40; ++i) {
    const TtftFeatures f = load.ttft();
    m.observe_ttft(0, f, ttft_law(f) * 30 * load.noise(50));
  }
  const uint64_t shifts = m.describe(0).ttft.shifts;
  for (int i = 0; i < 60; ++i) {
    const TtftFeatures f = load.ttft();
    m.observe_ttft(0, f, ttft_law(f) * load.noise(3));
  }
  CHECK(m.describe(0).ttft.shifts > shifts);
  CHECK(mean_ttft_error(m, 0, load) < 0.1);
}

TEST_CASE("one outlier (a stalled response, 100x the law) barely moves a warmed-up fit") {
  LatencyModel m;
  REQUIRE(m.ensure(0));
  Load load;
  for (int i = 0; i < 200; ++i) {
    const TtftFeatures f = load.ttft();
    m.observe_ttft(0, f, ttft_law(f) * load.noise(3));
  }
  const TtftFeatures probe{1000, 1, 500};
  const double before = m.predict_ttft(0, probe).ms;
  const TtftFeatures f = load.ttft();
  REQUIRE(m.observe_ttft(0, f, ttft_law(f) * 100));
  const double after = m.predict_ttft(0, probe).ms;
  CHECK(rel_err(after, before) < 0.05);
  CHECK(m.describe(0).ttft.clipped >= 1);
  // It recovers its accuracy with the next ordinary samples.
  for (int i = 0; i < 50; ++i) {
    const TtftFeatures g = load.ttft();
    m.observe_ttft(0, g, ttft_law(g) * load.noise(3));
  }
  CHECK(mean_ttft_error(m, 0, load) < 0.03);
}

TEST_CASE("a server that slows 10x at once is followed within a dozen responses; scattered outliers are not a change") {
  LatencyModel m;
  REQUIRE(m.ensure(0));
  Load load;
  for (int i = 0; i < 300; ++i) {
    const TtftFeatures f = load.ttft();
    m.observe_ttft(0, f, ttft_law(f) * load.noise(3));
  }
  // Every third response stalls (100x): outliers one at a time, never a run of one sign.
  for (int i = 0; i < 60; ++i) {
    const TtftFeatures f = load.ttft();
    m.observe_ttft(0, f, ttft_law(f) * (i % 3 == 2 ? 100 : load.noise(3)));
  }
  CHECK(m.describe(0).ttft.shifts == 0);
  for (int i = 0; i < 100; ++i) {
    const TtftFeatures f = load.ttft();
    m.observe_ttft(0, f, ttft_law(f) * load.noise(3));
  }
  CHECK(mean_ttft_error(m, 0, load) < 0.05);
  // The server slows 10x (--speed 0.1): after 12 responses the fit predicts the new law.
  for (int i = 0; i < 12; ++i) {
    const TtftFeatures f = load.ttft();
    m.observe_ttft(0, f, ttft_law(f, 0.1) * load.noise(3));
  }
  CHECK(m.describe(0).ttft.shifts >= 1);
  CHECK(mean_ttft_error(m, 0, load, 0.1) < 0.2);
}

TEST_CASE("degenerate input: all-zero features, huge values and NaN leave the model finite") {
  LatencyModel m;
  REQUIRE(m.ensure(0));
  const TtftFeatures zero{};
  // Many samples with nothing but the bias excited: P would wind up by 1/0.99 per update
  // in the other directions (1e4 x 1.0101^80000 overflows) without the bound, and be reset.
  for (int i = 0; i < 80000; ++i) REQUIRE(m.observe_ttft(0, zero, 50));
  LatencyCoefficients c = m.coefficients(0);
  for (double v : c.ttft) CHECK(std::isfinite(v));
  CHECK(m.predict_ttft(0, zero).ms == doctest::Approx(50).epsilon(0.01));
  CHECK(m.describe(0).ttft.p_resets == 0);
  // Then load appears: the fit learns it (P was kept bounded, not collapsed).
  Load load;
  for (int i = 0; i < 300; ++i) {
    const TtftFeatures f = load.ttft();
    m.observe_ttft(0, f, ttft_law(f));
  }
  CHECK(mean_ttft_error(m, 0, load) < 0.05);

  // Huge features are clamped to their bounds; the prediction stays finite and bounded.
  const double huge = std::numeric_limits<double>::max();
  const TtftFeatures big{huge, huge, huge};
  CHECK(m.observe_ttft(0, big, kMaxLatencyMs));
  CHECK(std::isfinite(m.predict_ttft(0, big).ms));
  CHECK(m.predict_ttft(0, big).ms <= kMaxLatencyMs);
  for (double v : m.coefficients(0).ttft) CHECK(std::isfinite(v));
  const auto x = ttft_vector(big);
  CHECK(x[0] == kMaxTokens / 1000);
  CHECK(x[3] == 1.0);
  CHECK(ttft_vector({-5, -1, -10})[0] == 0);  // negative counts (a racy gauge) read as 0

  // NaN and infinity are refused: nothing learned.
  const uint64_t samples = m.describe(0).ttft.samples;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  CHECK_FALSE(m.observe_ttft(0, TtftFeatures{nan, 0, 0}, 10));
  CHECK_FALSE(m.observe_ttft(0, TtftFeatures{0, inf, 0}, 10));
  CHECK_FALSE(m.observe_ttft(0, zero, nan));
  CHECK_FALSE(m.observe_ttft(0, zero, inf));
  CHECK_FALSE(m.observe_ttft(0, zero, -1));
  CHECK_FALSE(m.observe_ttft(0, zero, kMaxLatencyMs * 2));
  CHECK_FALSE(m.observe_tpot(0, TpotFeatures{nan, 1}, 10));
  CHECK(m.describe(0).ttft.samples == samples);
  CHECK(m.describe(0).tpot.samples == 0);
  // A NaN feature in a prediction gives a number, not NaN.
  CHECK(std::isfinite(m.predict_ttft(0, TtftFeatures{nan, 0, 0}).ms));
}

TEST_CASE("predictions are clamped non-negative") {
  LatencyModel m;
  REQUIRE(m.ensure(0));
  // A law with a negative slope in slot waits (as a fit may find on a narrow range): far
  // outside it the linear prediction goes below 0.
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0, 10);
  for (int i = 0; i < 100; ++i) {
    const TtftFeatures f{0, std::floor(u(rng)), 0};
    m.observe_ttft(0, f, 100 - 9 * f.slot_waits);
  }
  CHECK(m.predict_ttft(0, TtftFeatures{0, 1000, 0}).ms == 0);
}

TEST_CASE("the regression itself survives input that overflows its arithmetic") {
  OnlineRegression<3> r;
  for (int i = 0; i < 50; ++i) REQUIRE(r.update({1, 2, 1}, 10));
  const auto before = r.coefficients();
  // x' P x overflows to infinity: the update is degenerate, P is reset and the
  // coefficients are what they were.
  REQUIRE(r.update({1e300, 1e300, 1}, 10));
  for (double v : r.coefficients()) CHECK(std::isfinite(v));
  CHECK(r.coefficients() == before);
  CHECK(r.p_resets() == 1);
  CHECK(r.predict({1, 2, 1}) == doctest::Approx(10).epsilon(0.01));
  CHECK_FALSE(r.update({std::numeric_limits<double>::quiet_NaN(), 0, 1}, 1));
  CHECK(r.samples() == 51);
}

TEST_CASE("the debug JSON names every coefficient and says which fit predicts") {
  LatencyModel m;
  REQUIRE(m.ensure(0));
  for (int i = 0; i < 3; ++i) m.observe_tpot(0, TpotFeatures{double(i), 100}, 10);
  std::string out;
  append_json(out, m.describe(0));
  CHECK(out.find(R"("ttft":{"source":"cold","samples":0,)") != std::string::npos);
  CHECK(out.find(R"("tpot":{"source":"cold","samples":3,)") != std::string::npos);
  for (std::string_view name : kTtftFeatureNames)
    CHECK(out.find("\"" + std::string(name) + "\":") != std::string::npos);
  CHECK(out.find(R"("batched_ktokens":)") != std::string::npos);
  CHECK(out.find("relative_mean_abs_error") != std::string::npos);
  CHECK(out.find("normalized_mean_abs_error") != std::string::npos);
  CHECK(out.front() == '{');
  CHECK(out.back() == '}');
  CHECK(out.find("nan") == std::string::npos);
}

TEST_CASE("endpoint ids are bounded and storage is fixed per endpoint") {
  LatencyModel m(4);
  CHECK(m.ensure(3));
  CHECK_FALSE(m.ensure(4));
  CHECK_FALSE(m.ensure(kNoEndpoint));
  CHECK_FALSE(m.observe_tpot(4, TpotFeatures{1, 1}, 10));
  CHECK(m.observe_tpot(3, TpotFeatures{1, 1}, 10));
  CHECK(to_string(LatencySource::Endpoint) == "endpoint");
  CHECK(to_string(LatencySource::Pool) == "pool");
  CHECK(to_string(LatencySource::Cold) == "cold");
}

TEST_CASE("the spread fit learns how the error grows with the queue, and mean + kP90Spread x spread is a p90") {
  // A server whose TTFT is 40 ms + 80 ms a slot wait on average, scattered by a normal
  // error of 25 ms + 30 ms a slot wait (waiting for the k-th of the running sequences to
  // end is the less certain the more there are to wait for).
  LatencyModel m;
  REQUIRE(m.ensure(0));
  std::mt19937_64 rng{7};
  std::normal_distribution<double> normal(0, 1);
  auto sample = [&](double waits) { return std::max(0.0, 40 + 80 * waits + (25 + 30 * waits) * normal(rng)); };
  for (int i = 0; i < int(kMinSamples); ++i) m.observe_ttft(0, TtftFeatures{0, double(i % 5), 0}, sample(i % 5));
  CHECK(m.describe(0).ttft_spread.samples == 0);  // the fit's guesses before it is in use are no error
  for (int i = 0; i < 3000; ++i) {
    const double waits = double(i % 5);
    m.observe_ttft(0, TtftFeatures{0, waits, 0}, sample(waits));
  }
  const LatencyCoefficients k = m.coefficients(0);
  const LatencyPrediction idle = k.predict_ttft(TtftFeatures{0, 0, 0});
  const LatencyPrediction queued = k.predict_ttft(TtftFeatures{0, 3, 0});
  CHECK(idle.ms == doctest::Approx(40).epsilon(0.25));
  CHECK(queued.ms == doctest::Approx(280).epsilon(0.1));
  // E|error| of a normal is 0.8 sigma: 20 ms idle, 92 ms three slots down.
  CHECK(idle.spread_ms == doctest::Approx(20).epsilon(0.35));
  CHECK(queued.spread_ms == doctest::Approx(92).epsilon(0.2));
  // The p90 covers ~90% of fresh answers at each depth (a mean alone covers about half).
  for (double waits : {0.0, 1.0, 3.0}) {
    const LatencyPrediction p = k.predict_ttft(TtftFeatures{0, waits, 0});
    int within = 0, within_mean = 0;
    for (int i = 0; i < 2000; ++i) {
      const double y = sample(waits);
      within += y <= p.p90_ms();
      within_mean += y <= p.ms;
    }
    CAPTURE(waits);
    CHECK(within >= 1600);  // 80..95% (a linear fit of the spread, not the exact law)
    CHECK(within <= 1900);
    CHECK(within_mean <= 1200);
  }
  // A released id starts over, spread included; the JSON shows the spread fit.
  std::string out;
  append_json(out, m.describe(0));
  CHECK(out.find(R"("spread":{"samples":3000,"coefficients":{"uncached_prompt_ktokens":)") != std::string::npos);
  m.reset(0);
  CHECK(m.describe(0).ttft_spread.samples == 0);
  CHECK(m.coefficients(0).ttft_spread == m.coefficients(1).ttft_spread);  // the pool's again
}
