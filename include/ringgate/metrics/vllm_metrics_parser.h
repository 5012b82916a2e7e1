#pragma once
// Parser for the Prometheus text exposition format (version 0.0.4) as vLLM
// serves it, extracting the signals in vllm_metrics.h.
//
// Accepted: comments / HELP / TYPE lines, blank lines, LF or CRLF, label values
// with \\ \" \n escapes, trailing comma in a label set, NaN / +Inf / -Inf, an
// optional integer timestamp after the value. Every other line must be a valid
// sample, otherwise parse() stops with an error naming the line and column, so
// an HTML error page or a truncated body is reported, never half-applied
// silently (the output is still cleared/partially filled: do not use it then).
//
// Hostile pages are refused, not half-read: a page, a label value, a label set, the
// number of models or adapters past ScrapeLimits, or a gauge we read that is NaN or
// ±Inf, is an error (ParseResult::over_limit tells a cap apart from bad syntax).
// cache_config_info's block_size / num_gpu_blocks are clamped to the limits.
//
// No exceptions, no allocation once the output struct has grown to the
// endpoint's shape. Not thread-safe per instance: one parser per poller.

#include <cstddef>
#include <string>
#include <string_view>

#include "ringgate/metrics/vllm_metrics.h"

namespace ringgate::metrics {

struct ParseError {
  size_t line = 0;           // 1-based
  size_t column = 0;         // 1-based byte column
  std::string_view message;  // static text
};

struct ParseResult {
  bool ok = true;
  bool over_limit = false;  // the page broke a ScrapeLimits cap (or sent a non-finite gauge)
  ParseError error;
  explicit operator bool() const { return ok; }
  std::string describe() const;  // "line 3, column 7: expected '='"
};

class VllmMetricsParser {
 public:
  VllmMetricsParser() = default;
  explicit VllmMetricsParser(ScrapeLimits limits) : limits_(limits) {}
  const ScrapeLimits& limits() const { return limits_; }

  // Clears `out` (keeping its capacity) and fills it from `text`.
  ParseResult parse(std::string_view text, VllmMetrics& out);

 private:
  ScrapeLimits limits_;
  std::string label_scratch_;  // unescaped label value, reused
};

}  // namespace ringgate::metrics
