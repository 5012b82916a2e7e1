#include "metrics_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

namespace ringgate::control {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "Nan";
  } else if (std::isinf(v)) {
    out += v < 0 ? "-Inf" : "+Inf";
  } else {
    char buf[32];
    out.append(buf, std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 16).ptr);
  }
}

void append_escaped(std::string& out, std::string_view value) {
  for (size_t at = value.find_first_of("\\\"\n"); at != std::string_view::npos; at = value.find_first_of("\\\"\n")) {
    out.append(value.substr(0, at));
    out += value[at] == '\n' ? "\\n" : value[at] == '"' ? "\\\"" : "\\\\";
    value.remove_prefix(at + 1);
  }
  out.append(value);
}

// One sample line's name and labels, up to the space before the value; `extra` names one
// more label (a histogram bucket's le, a summary's quantile) whose value is `extra_value`.
void append_head(std::string& out, const MetricFamily& f, const ClientMetric& m, std::string_view suffix,
                 std::string_view extra = {}, double extra_value = 0) {
  out += f.name;
  out += suffix;
  if (!m.label.empty() || !extra.empty()) {
    char sep = '{';
    for (const ClientMetric::Label& l : m.label) {
      out += sep;
      out += l.name;
      out += "=\"";
      append_escaped(out, l.value);
      out += '"';
      sep = ',';
    }
    if (!extra.empty()) {
      out += sep;
      out += extra;
      out += "=\"";
      append_number(out, extra_value);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
}

void append_tail(std::string& out, const ClientMetric& m) {
  if (m.timestamp_ms != 0) {
    out += ' ';
    char buf[24];
    out.append(buf, std::to_chars(buf, buf + sizeof buf, m.timestamp_ms).ptr);
  }
  out += '\n';
}

template <typename T>
void append_sample(std::string& out, const MetricFamily& f, const ClientMetric& m, std::string_view suffix, T value,
                   std::string_view extra = {}, double extra_value = 0) {
  append_head(out, f, m, suffix, extra, extra_value);
  append_number(out, value);
  append_tail(out, m);
}

void append_histogram(std::string& out, const MetricFamily& f, const ClientMetric& m) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const ClientMetric::Histogram& h = m.histogram;
  append_sample(out, f, m, "_count", h.sample_count);
  append_sample(out, f, m, "_sum", h.sample_sum);
  double last = -kInf;
  for (const ClientMetric::Bucket& b : h.bucket) {
    append_sample(out, f, m, "_bucket", b.cumulative_count, "le", b.upper_bound);
    last = b.upper_bound;
  }
  if (last != kInf) append_sample(out, f, m, "_bucket", h.sample_count, "le", kInf);
}

void append_summary(std::string& out, const MetricFamily& f, const ClientMetric& m) {
  append_sample(out, f, m, "_count", m.summary.sample_count);
  append_sample(out, f, m, "_sum", m.summary.sample_sum);
  for (const ClientMetric::Quantile& q : m.summary.quantile)
    append_sample(out, f, m, "", q.value, "quantile", q.quantile);
}

const char* type_name(MetricType t) {
  switch (t) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Summary:
      return "summary";
    case MetricType::Histogram:
      return "histogram";
    case MetricType::Untyped:
      break;
  }
  return "untyped";
}

}  // namespace

void append_text_exposition(std::string& out, std::span<const MetricFamily> families) {
  // Reserved once: growing a 3 MB page by doubling copied it ~20 times.
  size_t lines = 0;
  for (const MetricFamily& f : families)
    for (const ClientMetric& m : f.metric) lines += 3 + m.histogram.bucket.size() + m.summary.quantile.size();
  out.reserve(out.size() + lines * 160);
  for (const MetricFamily& f : families) {
    if (!f.help.empty()) {
      out += "# HELP ";
      out += f.name;
      out += ' ';
      out += f.help;
      out += '\n';
    }
    out += "# TYPE ";
    out += f.name;
    out += ' ';
    out += type_name(f.type);
    out += '\n';
    for (const ClientMetric& m : f.metric) {
      switch (f.type) {
        case MetricType::Counter:
          append_sample(out, f, m, "", m.counter.value);
          break;
        case MetricType::Gauge:
          append_sample(out, f, m, "", m.gauge.value);
          break;
        case MetricType::Untyped:
          append_sample(out, f, m, "", m.untyped.value);
          break;
        case MetricType::Histogram:
          append_histogram(out, f, m);
          break;
        case MetricType::Summary:
          append_summary(out, f, m);
          break;
      }
    }
  }
}

}  // namespace ringgate::control
