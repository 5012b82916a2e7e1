// append_text_exposition writes the bytes prometheus-cpp's TextSerializer writes (the
// reference here), for every family type and the values that format differently.
#include <doctest/doctest.h>
#include <prometheus/text_serializer.h>

#include <cmath>
#include <limits>
#include <vector>

#include "../../src/control/metrics_text.h"

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

namespace {

MetricFamily family(const char* name, const char* help, MetricType type) {
  MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

ClientMetric sample(std::vector<ClientMetric::Label> labels) {
  ClientMetric m;
  m.label = std::move(labels);
  return m;
}

std::string ours(const std::vector<MetricFamily>& families) {
  std::string out;
  ringgate::control::append_text_exposition(out, families);
  return out;
}

}  // namespace

TEST_CASE("every family type and value shape: the bytes prometheus-cpp writes") {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<MetricFamily> fs;
  fs.push_back(family("c_total", "A counter.", MetricType::Counter));
  for (double v :
       {0.0, 1.0, 12345678901234.0, 0.013154259, 8.052e-06, 1e300, -2.5, 1.0 / 3.0, kInf, -kInf, std::nan("")}) {
    ClientMetric m = sample({{"a", "x"}, {"b", "quote\" back\\slash"}});
    m.counter.value = v;
    fs.back().metric.push_back(m);
  }
  fs.push_back(family("g", "", MetricType::Gauge));  // no HELP line
  {
    ClientMetric m = sample({});
    m.gauge.value = 0.1 + 0.2;
    m.timestamp_ms = 1700000000123;
    fs.back().metric.push_back(m);
  }
  fs.push_back(family("u", "Untyped.", MetricType::Untyped));
  fs.back().metric.push_back(sample({{"k", "v"}}));
  fs.push_back(family("h_seconds", "A histogram.", MetricType::Histogram));
  {
    ClientMetric m = sample({{"model_name", "m"}});
    m.histogram.sample_count = 7;
    m.histogram.sample_sum = 0.75;
    m.histogram.bucket = {{1, 0.005}, {3, 0.1}, {7, 2.5}};  // no +Inf bucket: the count is written as one
    fs.back().metric.push_back(m);
    ClientMetric unlabelled = sample({});
    unlabelled.histogram.sample_count = 2;
    unlabelled.histogram.bucket = {{1, 1.0}, {2, kInf}};  // its own +Inf bucket: not written twice
    fs.back().metric.push_back(unlabelled);
  }
  fs.push_back(family("s", "A summary.", MetricType::Summary));
  {
    ClientMetric m = sample({{"x", "y"}});
    m.summary.sample_count = 3;
    m.summary.sample_sum = 1.5;
    m.summary.quantile = {{0.5, 0.25}, {0.99, 1.0}};
    fs.back().metric.push_back(m);
    ClientMetric bare = sample({});
    bare.summary.quantile = {{0.9, 2.0}};
    fs.back().metric.push_back(bare);
  }
  CHECK(ours(fs) == prometheus::TextSerializer().Serialize(fs));
}

TEST_CASE("a newline in a label value is written as \\n (prometheus-cpp 1.0 writes it raw, breaking the line)") {
  std::vector<MetricFamily> fs{family("g", "", MetricType::Gauge)};
  fs.back().metric.push_back(sample({{"v", "a\nb"}}));
  CHECK(ours(fs) == "# TYPE g gauge\ng{v=\"a\\nb\"} 0\n");
}

TEST_CASE("appends to what the string holds") {
  std::string out = "# before\n";
  std::vector<MetricFamily> fs{family("g", "", MetricType::Gauge)};
  fs.back().metric.push_back(sample({}));
  ringgate::control::append_text_exposition(out, fs);
  CHECK(out == "# before\n# TYPE g gauge\ng 0\n");
}
