#pragma once
// "host:port" addresses: listen addresses (host may be empty = all interfaces)
// and static endpoints (host required).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringgate::config {

struct HostPort {
  std::string host;   // hostname, IPv4 literal, or IPv6 literal without brackets; may be empty
  uint16_t port = 0;  // 1..65535

  friend bool operator==(const HostPort&, const HostPort&) = default;
};

// A host name's longest (RFC 1035's 253 bytes): a longer one is refused where it is read.
inline constexpr size_t kMaxHostNameBytes = 253;

struct HostPortParseResult {
  std::optional<HostPort> value;
  std::string error;  // set when value is empty
};

// Parses "host:port", ":port" (only if allow_empty_host) or "[v6addr]:port".
HostPortParseResult parse_host_port(std::string_view text, bool allow_empty_host);

// "host:port", "[v6]:port" or ":port".
std::string format_host_port(const HostPort& address);

}  // namespace ringgate::config
