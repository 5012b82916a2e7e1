#pragma once
// Predicted latency per endpoint (issue 35): an online linear regression of TTFT and of
// TPOT on the endpoint's load, learned from every response the gateway sees, so that a
// pool of mixed hardware can be told apart (one server prefills 2.5x faster than
// another: fixed scorer weights cannot know it). Fed by control::LatencyLearner; read by the
// latency scorer and the SLO pick (latency_prediction.h).
//
//   TTFT_ms = c · [uncached prompt ktokens, slot waits, in-flight prefill ktokens, 1]
//   TPOT_ms = c · [running sequences, batched ktokens, 1]
//
// The TTFT features are the three ways a request waits on a server: for a slot (a
// server runs so many sequences at once; the rest queue for a running one to end), for
// the prefill work sent ahead of it, and for its own prefill. The queue enters as the
// slot waits it implies (latency_prediction.h), not as raw waiting, running and KV-use
// terms: a linear fit cannot bend at the slot count. On issue 35's mixed pool
// (perf/routing/slo.sh, three runs each) the latency scorer's TTFT p99 went from 666 /
// 666 / 359 ms with those terms to 476 / 568 / 328 ms with the slot waits (KV use acts
// through the queue it makes).
//
// Fit: recursive least squares with exponential forgetting (lambda 0.99: a sample weighs
// half after ~69 newer ones, so a server that slows down is followed within a few hundred
// responses), on fixed-size arrays: an update is O(N^2) with N = 4 or 3, no allocation,
// well under a microsecond (perf/latency_model/). Unweighted: weighting by 1 / latency^2
// (least relative error) halved the relative error of the predictions but cut the SLO
// pick's attainment from ~70% to ~58% (four runs): it fits the many short answers
// and misjudges the long ones, which decide whether an objective is met. Robust:
//   - an endpoint with fewer than kMinSamples samples is predicted by the pool's model
//     (the same RLS over every endpoint's samples);
//   - a residual is clipped to kClipMae x the running mean absolute error before the
//     update, so one stalled response cannot wreck the fit; but kShiftRun clipped in a
//     row, all of one sign, are no outliers: the server changed (a GPU throttled, a
//     noisy neighbour, 10x slower at once). Then P is reset (the fit re-learns at full
//     gain from its coefficients), the clip's scale jumps to that error and the sample
//     goes in whole: the fit follows within about ten responses, where the error's mean
//     alone (~15% a sample) took dozens. kShiftRun predictions in a row over twice the
//     latency are a change too, clipped or not (an overloaded start's seconds-long
//     answers, then ~100 ms ones once its queue is gone: the error's mean is as large as
//     the errors, so none is clipped);
//   - P (the inverse information matrix) is kept from winding up in directions no sample
//     excites (a feature that stays 0 would grow it by 1/lambda per update until it
//     overflows): any diagonal entry past kMaxP scales its row and column down, a
//     congruence that keeps P positive definite; P is reset to kInitialP x I if it goes
//     non-finite or loses a positive diagonal, and the coefficients are kept (or, if they
//     went non-finite, restored to their value before that update);
//   - features are clamped to [0, bound] (hostile input: counts and token numbers from
//     scrapes and clients), NaN or infinite features or targets are refused, as are
//     targets outside 0..kMaxLatencyMs; predictions are clamped to 0..kMaxLatencyMs.
// Spread: the fits above predict the mean; an objective is met or missed in the tail. Each
// TTFT and TPOT fit has a second RLS of the same form on the same features, fitted to the
// first one's a priori |error| (once that fit is in use, kMinSamples on): the mean absolute
// error expected for this request there (LatencyPrediction::spread_ms). The error grows
// with the queue: on issue 35's mixed pool a fast sim's TTFT error had a standard deviation
// of ~45 ms with no slot wait and ~100 ms with 1-3, with the mean predicted within ~10 ms in
// both. The SLO pick compares the objectives with mean + kP90Spread x spread (p90, as
// llm-d's latency predictor predicts p90 TTFT and TPOT), not with the mean.
// Memory: one fixed-size EndpointLatency (~1 KB) per endpoint id, up to max_endpoints
// ids (ids are dense and reused, EndpointRegistry), grown by ensure() when an endpoint
// joins, never per request; a released id's fits are reset() for its next holder.
//
// Threads: ONE WRITER, the control thread. Workers do not call LatencyModel. A worker
// reports each finished response as a fixed-size record through its own single-producer
// ring, as the access log does (util/spsc_ring.h); the control thread drains the
// rings each tick and calls observe_ttft()/observe_tpot(), then copies coefficients(id)
// (a small value) into the next EndpointSnapshot it publishes with SnapshotPublisher; a
// worker predicts with LatencyCoefficients::predict_*() on the snapshot it holds, a pure
// function of that immutable copy. Why not one model per worker, merged by the control
// thread: each worker would see only 1/W of an endpoint's responses (W times longer to
// warm up, W times noisier), RLS states with forgetting and clipping do not merge into
// the fit of the union of their samples, and the features (scraped waiting, running, KV
// use) are the control thread's anyway. The cost is a prediction at most one tick old,
// the same staleness as the scraped metrics it is computed from.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/sched/endpoint_id.h"

namespace ringgate::sched {

// What the gateway knows of an endpoint when it sends a request (and, for the update,
// what it knew when it sent the request that was answered).
struct TtftFeatures {
  double uncached_prompt_tokens = 0;   // prompt tokens the endpoint's prefix cache is not expected to hold
  double slot_waits = 0;               // sequences there to end before this one runs (latency_prediction.h)
  double inflight_prefill_tokens = 0;  // uncached prompt tokens sent there whose first token has not come
};

struct TpotFeatures {
  double running = 0;         // sequences decoding there
  double batched_tokens = 0;  // tokens per engine step (decodes plus prefill chunks) there
};

inline constexpr size_t kTtftFeatures = 4;  // the three above plus a bias
inline constexpr size_t kTpotFeatures = 3;  // the two above plus a bias
// Coefficient names, in order, for /debug/endpoints (token counts are in thousands).
inline constexpr std::array<std::string_view, kTtftFeatures> kTtftFeatureNames = {
    "uncached_prompt_ktokens", "slot_waits", "inflight_prefill_ktokens", "bias"};
inline constexpr std::array<std::string_view, kTpotFeatures> kTpotFeatureNames = {"running", "batched_ktokens", "bias"};

// Bounds of the inputs (hostile input: everything here comes from scrapes, clients and
// clocks). Features past them are clamped, targets past kMaxLatencyMs refused.
inline constexpr double kMaxLatencyMs = 3.6e6;  // one hour
inline constexpr double kMaxTokens = 1e7;
inline constexpr double kMaxCount = 1e6;

// Fitting constants.
inline constexpr double kForgetting = 0.99;
inline constexpr double kInitialP = 1e4;     // prior variance of a coefficient: a weak prior at 0
inline constexpr double kMaxP = 1e6;         // anti-windup bound on P's diagonal
inline constexpr double kClipMae = 4;        // residuals clipped to this many mean absolute errors...
inline constexpr uint32_t kClipAfter = 10;   // ...once a fit has this many samples
inline constexpr int kShiftRun = 4;          // clipped in a row, one sign: a change, not outliers
inline constexpr double kMaeAlpha = 0.05;    // EWMA weight of the error means (~20 samples)
inline constexpr uint32_t kMinSamples = 20;  // below: the pool's model predicts for the endpoint
// The p90 of a normal error is its mean + 1.2816 sigma, and its mean absolute error is
// 0.7979 sigma: p90 = mean + 1.606 x the mean absolute error (the spread).
inline constexpr double kP90Spread = 1.606;

// Recursive least squares with forgetting on N features (the last one a constant 1 by
// convention of the callers). Fixed size, no allocation; not thread-safe.
template <size_t N>
class OnlineRegression {
 public:
  using Vector = std::array<double, N>;

  OnlineRegression() { reset(); }
  void reset();

  // One observation; false (nothing changed) if x or y is not finite.
  bool update(const Vector& x, double y);
  double predict(const Vector& x) const;

  const Vector& coefficients() const { return theta_; }
  uint64_t samples() const { return samples_; }
  double mean_abs_error() const { return mae_; }  // a priori, after clipping (the clip's scale)
  // The errors below score the predictions made once the fit had kMinSamples (the ones
  // it is used for), error_samples() of them; 0 until then.
  uint64_t error_samples() const { return error_samples_; }
  double relative_mean_abs_error() const { return rel_mae_; }  // a priori |y - ŷ| / y, not clipped
  // The a priori |y - ŷ| (not clipped) over y, each an EWMA: the error in ms against the
  // typical latency (a 36 ms answer predicted at 80 ms weighs by its 44 ms, not by 1.2).
  double normalized_mean_abs_error() const { return mean_y_ > 0 ? abs_error_ / mean_y_ : 0; }
  uint64_t clipped() const { return clipped_; }                // residuals that were clipped
  uint64_t p_resets() const { return p_resets_; }              // P reset for degeneracy
  uint64_t shifts() const { return shifts_; }                  // changes taken in whole (kShiftRun)

 private:
  void reset_p();

  Vector theta_{};
  std::array<double, N * N> p_{};
  uint64_t samples_ = 0, error_samples_ = 0;
  double mae_ = 0, rel_mae_ = 0, abs_error_ = 0, mean_y_ = 0;
  uint64_t clipped_ = 0, p_resets_ = 0, shifts_ = 0;
  int clip_run_ = 0;  // residuals clipped in a row: > 0 above the fit, < 0 below
  int far_run_ = 0;   // predictions over twice the latency in a row
};

extern template class OnlineRegression<kTtftFeatures>;
extern template class OnlineRegression<kTpotFeatures>;

enum class LatencySource : uint8_t {
  Endpoint,  // the endpoint's own fit (kMinSamples or more)
  Pool,      // the pool's fit (the endpoint has too few samples)
  Cold,      // neither has kMinSamples: the pool's fit so far, not to be trusted
};
std::string_view to_string(LatencySource source);

struct LatencyPrediction {
  double ms = 0;         // the mean, 0..kMaxLatencyMs
  double spread_ms = 0;  // the mean absolute error expected around it, 0..kMaxLatencyMs
  LatencySource source = LatencySource::Cold;

  double p90_ms() const { return ms + kP90Spread * spread_ms; }
};

// The coefficients a worker predicts with: a small value, to be copied into the
// endpoint snapshot by the control thread (see the threads note above).
struct LatencyCoefficients {
  std::array<double, kTtftFeatures> ttft{}, ttft_spread{};
  std::array<double, kTpotFeatures> tpot{}, tpot_spread{};
  LatencySource ttft_source = LatencySource::Cold;
  LatencySource tpot_source = LatencySource::Cold;

  LatencyPrediction predict_ttft(const TtftFeatures& f) const;
  LatencyPrediction predict_tpot(const TpotFeatures& f) const;
};

// The regression inputs of a request (clamped to the bounds above; token counts in
// thousands, so every coefficient is of the order of milliseconds). Exposed for tests.
std::array<double, kTtftFeatures> ttft_vector(const TtftFeatures& f);
std::array<double, kTpotFeatures> tpot_vector(const TpotFeatures& f);
// True when every feature is finite (what observe_*() refuses otherwise).
bool finite(const TtftFeatures& f);
bool finite(const TpotFeatures& f);

// One fit as /debug/endpoints will show it.
struct LatencyFitReport {
  std::vector<double> coefficients;  // in the order of kTtftFeatureNames / kTpotFeatureNames
  uint64_t samples = 0;
  uint64_t error_samples = 0;  // predictions the errors score (made by the fit in use)
  double mean_abs_error_ms = 0;
  double relative_mean_abs_error = 0;  // e.g. 0.12 = predictions off by 12% on average
  double normalized_mean_abs_error = 0;  // mean |error| / mean latency
  uint64_t clipped = 0;
  uint64_t p_resets = 0;
  uint64_t shifts = 0;
};

struct EndpointLatencyReport {
  LatencyFitReport ttft, tpot;
  LatencyFitReport ttft_spread, tpot_spread;        // the fits of their |error| (see "Spread")
  LatencySource ttft_source = LatencySource::Cold;  // which fit predicts for it now
  LatencySource tpot_source = LatencySource::Cold;
};

// {"ttft":{"source":"endpoint","samples":…,"error_samples":…,"mean_abs_error_ms":…,"relative_mean_abs_error":…,
//  "normalized_mean_abs_error":…,
//  "clipped":…,"shifts":…,"p_resets":…,"coefficients":{"uncached_prompt_ktokens":…,…},
//  "spread":{"samples":…,"coefficients":{…}}},"tpot":{…}}:
// one endpoint's model as /debug/endpoints will show it (allocates; debug pages only).
void append_json(std::string& out, const EndpointLatencyReport& report);

// Every endpoint's fits and the pool's. Control thread only (see the threads note).
class LatencyModel {
 public:
  explicit LatencyModel(size_t max_endpoints = 1u << 16);

  // Makes `id` observable (allocates up to the id, once). False beyond max_endpoints.
  bool ensure(EndpointId id);
  // The id's address left the pool (EndpointRegistry::release): its fits start over.
  void reset(EndpointId id);

  // One answered request: its features when sent, its TTFT (ms) / TPOT (ms). Updates the
  // endpoint's fit and the pool's. False (nothing learned) for an id never ensured,
  // non-finite input or a latency outside 0..kMaxLatencyMs.
  bool observe_ttft(EndpointId id, const TtftFeatures& f, double ttft_ms);
  bool observe_tpot(EndpointId id, const TpotFeatures& f, double tpot_ms);

  // What a worker will predict with for `id` (the pool's for an unknown id).
  LatencyCoefficients coefficients(EndpointId id) const;
  LatencyPrediction predict_ttft(EndpointId id, const TtftFeatures& f) const {
    return coefficients(id).predict_ttft(f);
  }
  LatencyPrediction predict_tpot(EndpointId id, const TpotFeatures& f) const {
    return coefficients(id).predict_tpot(f);
  }

  // Allocates (debug pages only). An id never ensured shows empty fits and the pool's source.
  EndpointLatencyReport describe(EndpointId id) const;
  EndpointLatencyReport describe_pool() const;

  size_t max_endpoints() const { return max_endpoints_; }

 private:
  struct EndpointLatency {
    OnlineRegression<kTtftFeatures> ttft, ttft_spread;
    OnlineRegression<kTpotFeatures> tpot, tpot_spread;
    void reset() { *this = EndpointLatency{}; }
  };
  const EndpointLatency* find(EndpointId id) const { return id < endpoints_.size() ? &endpoints_[id] : nullptr; }

  size_t max_endpoints_;
  std::vector<EndpointLatency> endpoints_;  // by id
  EndpointLatency pool_;
};

}  // namespace ringgate::sched
