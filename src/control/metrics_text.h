#pragma once
// The Prometheus text exposition (format 0.0.4) of metric families, appended to a string.
// prometheus-cpp's TextSerializer writes the same bytes through an ostream, which took
// ~60% of a /metrics scrape with 64 fairness ids (2.7 MB, perf record, issue 72); this
// writes with std::to_chars. Values as printf's %.16g, the precision prometheus-cpp 1.0
// sets; label values escaped as the format says (\\, \" and \n).
#include <prometheus/metric_family.h>

#include <span>
#include <string>

namespace ringgate::control {

void append_text_exposition(std::string& out, std::span<const prometheus::MetricFamily> families);

}  // namespace ringgate::control
