#pragma once
// Loops of gateways (a hub pointed at itself, hubs in a cycle): every gateway forwards a
// request with one more hop in x-ringgate-hops than it arrived with, and answers 508 to one
// that arrived with more than hub.maxHops (ProxyOptions::max_hops), so a loop ends after
// maxHops + 1 passes instead of filling every queue on the way.
#include <cstdint>
#include <optional>
#include <string_view>

namespace ringgate::proxy {

inline constexpr std::string_view kHopsHeader = "x-ringgate-hops";
// More hops than any configuration allows (hub.maxHops <= 16): the parser's bound.
inline constexpr uint32_t kMaxHopsValue = 1000;

// The header's value: "" → 0; 1 to 4 decimal digits up to kMaxHopsValue → that number;
// anything else (signs, spaces, a list, a longer number) → nullopt (a 400).
std::optional<uint32_t> parse_hops(std::string_view value);

}  // namespace ringgate::proxy
