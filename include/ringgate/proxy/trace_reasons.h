#pragma once
// The reasons a request's trace records (request_trace.h), as enums with one name table
// each: what admission decided (the ringgate.admission span's ringgate.admission.outcome)
// and which kind of leg an attempt or a pick is (ringgate.leg, ringgate.pick.leg, and the
// CLIENT span's name "ringgate.<leg>"). A reason is a value the compiler checks; the names
// are what traces show (tests pin them).
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringgate::proxy {

enum class AdmissionOutcome : uint8_t { Admitted, RateLimited, QueueFull, NoEndpoint, QueueTimeout, QueueEvicted };
inline constexpr std::array<std::string_view, size_t(AdmissionOutcome::QueueEvicted) + 1> kAdmissionOutcomes = {
    "admitted", "rate_limited", "queue_full", "no_endpoint", "queue_timeout", "queue_evicted"};
constexpr std::string_view name(AdmissionOutcome outcome) { return kAdmissionOutcomes[size_t(outcome)]; }

// A leg: the first try or a retry (attempt), a hedge, a continuation after a broken stream
// (migration), a disaggregated request's prefill and decode.
enum class TraceLeg : uint8_t { Attempt, Hedge, Migration, Prefill, Decode };
struct TraceLegNames {
  std::string_view leg;   // ringgate.leg, ringgate.pick.leg
  std::string_view span;  // the attempt's CLIENT span
};
inline constexpr std::array<TraceLegNames, size_t(TraceLeg::Decode) + 1> kTraceLegs = {{
    {"attempt", "ringgate.attempt"},
    {"hedge", "ringgate.hedge"},
    {"migration", "ringgate.migration"},
    {"prefill", "ringgate.prefill"},
    {"decode", "ringgate.decode"},
}};
constexpr std::string_view name(TraceLeg leg) { return kTraceLegs[size_t(leg)].leg; }
constexpr std::string_view span_name(TraceLeg leg) { return kTraceLegs[size_t(leg)].span; }
constexpr bool spans_named_for_legs() {
  for (const TraceLegNames& n : kTraceLegs)
    if (n.span.substr(0, 9) != "ringgate." || n.span.substr(9) != n.leg) return false;
  return true;
}
static_assert(spans_named_for_legs(), "a leg's span is ringgate.<leg>");

}  // namespace ringgate::proxy
