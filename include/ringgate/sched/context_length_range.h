#pragma once
// The prompt lengths a model server is deployed for (llm-d's context-length-aware plugin):
// the pod label `llm-d.ai/context-length-range` or a static pool entry's
// `contextLengthRange`, "min-max" in tokens, both ends included ("0-2048", "2048-8192"),
// one range a server, as llm-d parses it. A value that does not parse is Malformed: the
// server keeps its place in the pool, but no range is believed, and the plugin treats it as
// llm-d does (score 0, left out by the filter); an endpoint without the label holds every
// length (neutral).
#include <cstdint>
#include <optional>
#include <string_view>

namespace ringgate::sched {

inline constexpr std::string_view kContextLengthLabel = "llm-d.ai/context-length-range";
// Larger than any model's context (10^9 tokens): a bound for what a pod label says.
inline constexpr uint32_t kMaxContextLength = 1'000'000'000;
// "1000000000-1000000000": a longer value is malformed without being read.
inline constexpr size_t kMaxContextRangeBytes = 21;

enum class ContextRangeState : uint8_t { None, Valid, Malformed };

struct ContextLengthRange {
  ContextRangeState state = ContextRangeState::None;
  uint32_t min = 0, max = 0;  // tokens, both included (Valid only)
  bool holds(uint32_t tokens) const { return state == ContextRangeState::Valid && tokens >= min && tokens <= max; }
  bool operator==(const ContextLengthRange&) const = default;
};

// "min-max": two decimal numbers (at most kMaxContextLength, min <= max) around one '-';
// anything else (empty, "4096-", "0-2048,4096-8192", "+1-2", a space) is nullopt.
constexpr std::optional<ContextLengthRange> parse_context_length_range(std::string_view text) {
  if (text.empty() || text.size() > kMaxContextRangeBytes) return std::nullopt;
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto number = [](std::string_view s) -> std::optional<uint32_t> {
    if (s.empty() || s.size() > 10) return std::nullopt;
    uint64_t n = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + uint64_t(c - '0');
    }
    if (n > kMaxContextLength) return std::nullopt;
    return uint32_t(n);
  };
  const auto lo = number(text.substr(0, dash));
  const auto hi = number(text.substr(dash + 1));
  if (!lo || !hi || *lo > *hi) return std::nullopt;
  return ContextLengthRange{ContextRangeState::Valid, *lo, *hi};
}

}  // namespace ringgate::sched
