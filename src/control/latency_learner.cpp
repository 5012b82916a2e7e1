#include "ringgate/control/latency_learner.h"

#include <cstdio>

namespace ringgate::control {
namespace {

// A Prometheus label value: backslash, quote and newline escaped.
std::string label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

LatencyLearner::LatencyLearner(size_t slots, size_t ring_size)
    : slots_(slots), rings_(std::make_unique<sched::LatencySampleRing[]>(slots)) {
  for (size_t i = 0; i < slots_; ++i) rings_[i].enable(ring_size);
}

bool LatencyLearner::drain() {
  bool learnt = false;
  for (size_t i = 0; i < slots_; ++i) {
    rings_[i].drain([&](const sched::LatencySample& s) {
      // A sample of an id the model never saw (or past its bound) is refused by observe_*.
      if (s.ttft_ns) {
        const bool ok = model_.observe_ttft(s.endpoint, s.features.ttft, double(s.ttft_ns) / 1e6);
        ok ? ++samples_ : ++refused_;
        learnt |= ok;
      }
      if (s.tpot_ns) {
        const bool ok = model_.observe_tpot(s.endpoint, s.features.tpot, double(s.tpot_ns) / 1e6);
        ok ? ++samples_ : ++refused_;
        learnt |= ok;
      }
    });
  }
  return learnt;
}

uint64_t LatencyLearner::dropped() const {
  uint64_t n = 0;
  for (size_t i = 0; i < slots_; ++i) n += rings_[i].dropped();
  return n;
}

void LatencyLearner::append_endpoint_json(std::string& out, sched::EndpointId id) const {
  sched::append_json(out, model_.describe(id));
}

void LatencyLearner::append_pool_json(std::string& out) const { sched::append_json(out, model_.describe_pool()); }

void LatencyLearner::append_metrics(std::string& out, const sched::EndpointSnapshot* snapshot) const {
  char buf[64];
  auto number = [&](double v) {
    std::snprintf(buf, sizeof buf, "%.6g", v);
    out += buf;
  };
  out +=
      "# HELP ringgate_latency_prediction_error_ratio Mean absolute relative error of the latency model's "
      "predictions per endpoint and kind (ttft, tpot): |observed - predicted| / observed, an a-priori EWMA over "
      "~20 responses of the endpoint's own fit, from when it has enough samples to predict.\n"
      "# TYPE ringgate_latency_prediction_error_ratio gauge\n";
  std::string samples_lines;
  if (snapshot) {
    for (const sched::EndpointState& e : snapshot->endpoints()) {
      const sched::EndpointLatencyReport r = model_.describe(e.id);
      const std::string address = label_value(e.address.text());  // a pool member's: bounded by the pool
      for (int k = 0; k < 2; ++k) {
        const sched::LatencyFitReport& fit = k == 0 ? r.ttft : r.tpot;
        const char* kind = k == 0 ? "ttft" : "tpot";
        if (fit.error_samples > 0) {
          out += "ringgate_latency_prediction_error_ratio{endpoint=\"" + address + "\",kind=\"" + kind + "\"} ";
          number(fit.relative_mean_abs_error);
          out.push_back('\n');
        }
        samples_lines += "ringgate_latency_samples{endpoint=\"" + address + "\",kind=\"" + kind + "\"} " +
                         std::to_string(fit.samples) + "\n";
      }
    }
  }
  out += "# HELP ringgate_latency_samples Responses the endpoint's latency fit has learnt from (since it joined).\n"
         "# TYPE ringgate_latency_samples gauge\n";
  out += samples_lines;
  out += "# HELP ringgate_latency_samples_total Latency observations (TTFT or TPOT) the model learnt from.\n"
         "# TYPE ringgate_latency_samples_total counter\nringgate_latency_samples_total " +
         std::to_string(samples_) + "\n";
  out += "# HELP ringgate_latency_samples_refused_total Latency observations refused (out of bounds, unknown endpoint).\n"
         "# TYPE ringgate_latency_samples_refused_total counter\nringgate_latency_samples_refused_total " +
         std::to_string(refused_) + "\n";
  out += "# HELP ringgate_latency_samples_dropped_total Latency samples lost to a full worker ring.\n"
         "# TYPE ringgate_latency_samples_dropped_total counter\nringgate_latency_samples_dropped_total " +
         std::to_string(dropped()) + "\n";
}

}  // namespace ringgate::control
