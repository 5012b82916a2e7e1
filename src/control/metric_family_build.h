#pragma once
// Building prometheus-cpp metric families by hand, shared by the exposition files
// (gateway_metrics, epp_metrics, flow_metrics): one family, one sample.
#include <prometheus/metric_family.h>

#include <string>
#include <utility>
#include <vector>

namespace ringgate::control::metric_build {

using Labels = std::vector<prometheus::ClientMetric::Label>;

inline prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

// A counter or gauge sample, as the family's type says.
inline void add_value(prometheus::MetricFamily& f, Labels labels, double v) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (f.type == prometheus::MetricType::Counter) m.counter.value = v;
  else m.gauge.value = v;
  f.metric.push_back(std::move(m));
}

}  // namespace ringgate::control::metric_build
