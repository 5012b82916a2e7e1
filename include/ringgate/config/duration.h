#pragma once
// Go-style duration strings ("500ms", "5s", "1m30s", "1.5h") as used in the config file.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ringgate::config {

struct DurationParseResult {
  std::optional<std::chrono::nanoseconds> value;
  std::string error;  // set when value is empty: why the text is not a duration
};

// Accepts a sequence of <decimal number><unit>, units ns, us, µs, ms, s, m, h, and the
// bare "0". Negative durations and values beyond ~292 years are rejected.
DurationParseResult parse_duration(std::string_view text);

// Shortest Go-style rendering of a duration: 0s, 50ms, 1.5s, 1m30s, 2h.
std::string format_duration(std::chrono::nanoseconds value);

}  // namespace ringgate::config
