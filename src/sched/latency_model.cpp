#include "ringgate/sched/latency_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <span>

#include "ringgate/util/json_text.h"

namespace ringgate::sched {
namespace {

// Clamped to [0, hi]; callers have refused non-finite values already.
double bounded(double v, double hi) { return std::clamp(v, 0.0, hi); }

double clamp_latency(double ms) {
  if (!std::isfinite(ms)) return ms > 0 ? kMaxLatencyMs : 0;  // not reached: coefficients stay finite
  return std::clamp(ms, 0.0, kMaxLatencyMs);
}

bool valid_latency(double ms) { return std::isfinite(ms) && ms >= 0 && ms <= kMaxLatencyMs; }

template <size_t N>
double dot(const std::array<double, N>& a, const std::array<double, N>& b) {
  double s = 0;
  for (size_t i = 0; i < N; ++i) s += a[i] * b[i];
  return s;
}

// One observation into a fit and its spread fit (latency_model.h, "Spread"). The spread
// learns the a priori error of the fit once it is in use (kMinSamples on): its guesses
// before that, from 0 ms, are no error a prediction would be made with.
template <size_t N>
void learn(OnlineRegression<N>& fit, OnlineRegression<N>& spread, const std::array<double, N>& x, double y) {
  const double error = std::fabs(y - clamp_latency(fit.predict(x)));
  const bool in_use = fit.samples() >= kMinSamples;
  fit.update(x, y);
  if (in_use) spread.update(x, error);
}

}  // namespace

template <size_t N>
void OnlineRegression<N>::reset() {
  theta_.fill(0);
  reset_p();
  samples_ = error_samples_ = 0;
  mae_ = rel_mae_ = abs_error_ = mean_y_ = 0;
  clipped_ = p_resets_ = shifts_ = 0;
  clip_run_ = far_run_ = 0;
}

template <size_t N>
void OnlineRegression<N>::reset_p() {
  p_.fill(0);
  for (size_t i = 0; i < N; ++i) p_[i * N + i] = kInitialP;
}

template <size_t N>
double OnlineRegression<N>::predict(const Vector& x) const {
  return dot(theta_, x);
}

template <size_t N>
bool OnlineRegression<N>::update(const Vector& x, double y) {
  if (!std::isfinite(y)) return false;
  for (double v : x)
    if (!std::isfinite(v)) return false;

  const double predicted = dot(theta_, x);
  double e = y - predicted;  // a priori error: what a prediction would have missed by
  const double abs_e = std::fabs(e);
  // Relative error against the observed value, with a 1 ms floor so that near-zero
  // latencies do not make it explode.
  const double rel = abs_e / std::max(std::fabs(y), 1.0);
  // Predicted over twice what it took, kShiftRun times in a row: the fit has lost the
  // server even when its error mean is as large (so nothing is clipped). The seconds-long
  // answers of an overloaded start, then ~100 ms ones once its queue is gone: without
  // this the fit kept predicting them seconds long for a hundred responses.
  far_run_ = e < 0 && rel > 1 ? far_run_ + 1 : 0;
  if (far_run_ >= kShiftRun) {
    far_run_ = clip_run_ = 0;
    ++shifts_;
    reset_p();
    mae_ = abs_e;
  } else if (samples_ >= kClipAfter) {
    // The clip's scale has a floor (5% of the prediction + 0.01 ms): a noise-free fit's
    // error mean tends to 0 and would otherwise freeze the model against a real change.
    const double limit = kClipMae * std::max(mae_, 0.01 + 0.05 * std::fabs(predicted));
    if (abs_e <= limit) {
      clip_run_ = 0;
    } else if (clip_run_ = e > 0 ? std::max(clip_run_, 0) + 1 : std::min(clip_run_, 0) - 1;
               std::abs(clip_run_) < kShiftRun) {
      e = e > 0 ? limit : -limit;
      ++clipped_;
    } else {
      // A change, not outliers: re-learn at full gain, from this error's scale.
      clip_run_ = 0;
      ++shifts_;
      reset_p();
      mae_ = abs_e;
    }
  }
  mae_ = samples_ == 0 ? std::fabs(e) : mae_ + kMaeAlpha * (std::fabs(e) - mae_);
  // The reported errors score only the predictions of a fit in use (kMinSamples on: before,
  // the pool's fit predicts for the endpoint), a plain mean until there are 1 / kMaeAlpha of
  // them. Scored from the first sample, an empty fit's guesses of 0 ms (relative error 1)
  // still weighed ~30% after 25 answers: a server that had few was reported off by half.
  if (samples_ >= kMinSamples) {
    ++error_samples_;
    const double alpha = std::max(kMaeAlpha, 1.0 / double(error_samples_));
    rel_mae_ += alpha * (rel - rel_mae_);
    abs_error_ += alpha * (abs_e - abs_error_);
    mean_y_ += alpha * (std::fabs(y) - mean_y_);
  }

  // RLS: k = P x / (lambda + x' P x); theta += k e; P = (P - k x' P) / lambda.
  const Vector saved = theta_;
  Vector px{};
  for (size_t i = 0; i < N; ++i) {
    double s = 0;
    for (size_t j = 0; j < N; ++j) s += p_[i * N + j] * x[j];
    px[i] = s;
  }
  const double denom = kForgetting + dot(x, px);  // >= lambda while P is positive semi-definite
  bool degenerate = !(denom >= kForgetting * 0.5) || !std::isfinite(denom);
  if (!degenerate) {
    for (size_t i = 0; i < N; ++i) theta_[i] += px[i] / denom * e;
    for (size_t i = 0; i < N; ++i) {
      for (size_t j = i; j < N; ++j) {
        // Symmetric by construction: both triangles from the same product.
        const double v = (p_[i * N + j] - px[i] * px[j] / denom) / kForgetting;
        p_[i * N + j] = v;
        p_[j * N + i] = v;
      }
    }
    // Anti-windup: scale row and column i by s_i = sqrt(kMaxP / P_ii) where P_ii is past
    // kMaxP (D P D with D diagonal and positive: still positive definite).
    Vector scale;
    bool wound = false;
    for (size_t i = 0; i < N; ++i) {
      const double d = p_[i * N + i];
      scale[i] = d > kMaxP ? std::sqrt(kMaxP / d) : 1.0;
      wound |= d > kMaxP;
    }
    if (wound)
      for (size_t i = 0; i < N; ++i)
        for (size_t j = 0; j < N; ++j) p_[i * N + j] *= scale[i] * scale[j];
    for (size_t i = 0; i < N && !degenerate; ++i) {
      degenerate = !(p_[i * N + i] > 0) || !std::isfinite(theta_[i]);
      for (size_t j = 0; j < N && !degenerate; ++j) degenerate = !std::isfinite(p_[i * N + j]);
    }
  }
  if (degenerate) {
    ++p_resets_;
    reset_p();
    for (double v : theta_) {
      if (!std::isfinite(v)) {
        theta_ = saved;
        break;
      }
    }
  }
  ++samples_;
  return true;
}

template class OnlineRegression<kTtftFeatures>;
template class OnlineRegression<kTpotFeatures>;

std::string_view to_string(LatencySource source) {
  switch (source) {
    case LatencySource::Endpoint:
      return "endpoint";
    case LatencySource::Pool:
      return "pool";
    case LatencySource::Cold:
      return "cold";
  }
  return "cold";
}

bool finite(const TtftFeatures& f) {
  return std::isfinite(f.uncached_prompt_tokens) && std::isfinite(f.slot_waits) &&
         std::isfinite(f.inflight_prefill_tokens);
}

bool finite(const TpotFeatures& f) { return std::isfinite(f.running) && std::isfinite(f.batched_tokens); }

std::array<double, kTtftFeatures> ttft_vector(const TtftFeatures& f) {
  // NaN compares false everywhere: clamp would keep it; predictions from NaN become 0.
  if (!finite(f)) return {0, 0, 0, 1};
  return {bounded(f.uncached_prompt_tokens, kMaxTokens) / 1000, bounded(f.slot_waits, kMaxCount),
          bounded(f.inflight_prefill_tokens, kMaxTokens) / 1000, 1.0};
}

std::array<double, kTpotFeatures> tpot_vector(const TpotFeatures& f) {
  if (!finite(f)) return {0, 0, 1};
  return {bounded(f.running, kMaxCount), bounded(f.batched_tokens, kMaxTokens) / 1000, 1.0};
}

LatencyPrediction LatencyCoefficients::predict_ttft(const TtftFeatures& f) const {
  const auto x = ttft_vector(f);
  return {clamp_latency(dot(ttft, x)), clamp_latency(dot(ttft_spread, x)), ttft_source};
}

LatencyPrediction LatencyCoefficients::predict_tpot(const TpotFeatures& f) const {
  const auto x = tpot_vector(f);
  return {clamp_latency(dot(tpot, x)), clamp_latency(dot(tpot_spread, x)), tpot_source};
}

LatencyModel::LatencyModel(size_t max_endpoints) : max_endpoints_(max_endpoints) {}

bool LatencyModel::ensure(EndpointId id) {
  if (id == kNoEndpoint || id >= max_endpoints_) return false;
  if (id >= endpoints_.size()) endpoints_.resize(size_t(id) + 1);
  return true;
}

void LatencyModel::reset(EndpointId id) {
  if (id < endpoints_.size()) endpoints_[id].reset();
}

bool LatencyModel::observe_ttft(EndpointId id, const TtftFeatures& f, double ttft_ms) {
  if (id >= endpoints_.size() || !finite(f) || !valid_latency(ttft_ms)) return false;
  const auto x = ttft_vector(f);
  learn(endpoints_[id].ttft, endpoints_[id].ttft_spread, x, ttft_ms);
  learn(pool_.ttft, pool_.ttft_spread, x, ttft_ms);
  return true;
}

bool LatencyModel::observe_tpot(EndpointId id, const TpotFeatures& f, double tpot_ms) {
  if (id >= endpoints_.size() || !finite(f) || !valid_latency(tpot_ms)) return false;
  const auto x = tpot_vector(f);
  learn(endpoints_[id].tpot, endpoints_[id].tpot_spread, x, tpot_ms);
  learn(pool_.tpot, pool_.tpot_spread, x, tpot_ms);
  return true;
}

namespace {

template <size_t N>
LatencySource pick(const OnlineRegression<N>* own, const OnlineRegression<N>& pool, const std::array<double, N>*& out) {
  if (own && own->samples() >= kMinSamples) {
    out = &own->coefficients();
    return LatencySource::Endpoint;
  }
  out = &pool.coefficients();
  return pool.samples() >= kMinSamples ? LatencySource::Pool : LatencySource::Cold;
}

template <size_t N>
LatencyFitReport report(const OnlineRegression<N>& fit) {
  LatencyFitReport r;
  r.coefficients.assign(fit.coefficients().begin(), fit.coefficients().end());
  r.samples = fit.samples();
  r.error_samples = fit.error_samples();
  r.mean_abs_error_ms = fit.mean_abs_error();
  r.relative_mean_abs_error = fit.relative_mean_abs_error();
  r.normalized_mean_abs_error = fit.normalized_mean_abs_error();
  r.clipped = fit.clipped();
  r.shifts = fit.shifts();
  r.p_resets = fit.p_resets();
  return r;
}

}  // namespace

LatencyCoefficients LatencyModel::coefficients(EndpointId id) const {
  const EndpointLatency* e = find(id);
  LatencyCoefficients c;
  const std::array<double, kTtftFeatures>* ttft = nullptr;
  const std::array<double, kTpotFeatures>* tpot = nullptr;
  c.ttft_source = pick(e ? &e->ttft : nullptr, pool_.ttft, ttft);
  c.tpot_source = pick(e ? &e->tpot : nullptr, pool_.tpot, tpot);
  c.ttft = *ttft;
  c.tpot = *tpot;
  // A spread fit is used by the same rule, on its own samples (it starts kMinSamples later).
  pick(e ? &e->ttft_spread : nullptr, pool_.ttft_spread, ttft);
  pick(e ? &e->tpot_spread : nullptr, pool_.tpot_spread, tpot);
  c.ttft_spread = *ttft;
  c.tpot_spread = *tpot;
  return c;
}

EndpointLatencyReport LatencyModel::describe(EndpointId id) const {
  const EndpointLatency* e = find(id);
  EndpointLatencyReport r;
  const EndpointLatency empty;  // an unknown id: no samples
  const EndpointLatency& fits = e ? *e : empty;
  r.ttft = report(fits.ttft);
  r.tpot = report(fits.tpot);
  r.ttft_spread = report(fits.ttft_spread);
  r.tpot_spread = report(fits.tpot_spread);
  const LatencyCoefficients c = coefficients(id);
  r.ttft_source = c.ttft_source;
  r.tpot_source = c.tpot_source;
  return r;
}

EndpointLatencyReport LatencyModel::describe_pool() const {
  EndpointLatencyReport r;
  r.ttft = report(pool_.ttft);
  r.tpot = report(pool_.tpot);
  r.ttft_spread = report(pool_.ttft_spread);
  r.tpot_spread = report(pool_.tpot_spread);
  r.ttft_source = pool_.ttft.samples() >= kMinSamples ? LatencySource::Pool : LatencySource::Cold;
  r.tpot_source = pool_.tpot.samples() >= kMinSamples ? LatencySource::Pool : LatencySource::Cold;
  return r;
}

namespace {

void append_coefficients(std::string& out, const LatencyFitReport& fit, std::span<const std::string_view> names) {
  out += "\"coefficients\":{";
  for (size_t i = 0; i < names.size() && i < fit.coefficients.size(); ++i) {
    if (i) out.push_back(',');
    util::append_json_string(out, names[i]);
    out.push_back(':');
    util::append_json_double(out, fit.coefficients[i]);
  }
  out.push_back('}');
}

void append_fit(std::string& out, const LatencyFitReport& fit, const LatencyFitReport& spread, LatencySource source,
                std::span<const std::string_view> names) {
  out += "{\"source\":\"";
  out += to_string(source);
  out += "\",\"samples\":";
  util::append_uint(out, fit.samples);
  out += ",\"error_samples\":";
  util::append_uint(out, fit.error_samples);
  out += ",\"mean_abs_error_ms\":";
  util::append_json_double(out, fit.mean_abs_error_ms);
  out += ",\"relative_mean_abs_error\":";
  util::append_json_double(out, fit.relative_mean_abs_error);
  out += ",\"normalized_mean_abs_error\":";
  util::append_json_double(out, fit.normalized_mean_abs_error);
  out += ",\"clipped\":";
  util::append_uint(out, fit.clipped);
  out += ",\"shifts\":";
  util::append_uint(out, fit.shifts);
  out += ",\"p_resets\":";
  util::append_uint(out, fit.p_resets);
  out.push_back(',');
  append_coefficients(out, fit, names);
  out += ",\"spread\":{\"samples\":";
  util::append_uint(out, spread.samples);
  out.push_back(',');
  append_coefficients(out, spread, names);
  out += "}}";
}

}  // namespace

void append_json(std::string& out, const EndpointLatencyReport& report) {
  out += "{\"ttft\":";
  append_fit(out, report.ttft, report.ttft_spread, report.ttft_source, kTtftFeatureNames);
  out += ",\"tpot\":";
  append_fit(out, report.tpot, report.tpot_spread, report.tpot_source, kTpotFeatureNames);
  out.push_back('}');
}

}  // namespace ringgate::sched
