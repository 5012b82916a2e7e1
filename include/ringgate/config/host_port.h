#pragma once
// "host:port" addresses: listen addresses (host may be empty = all interfaces)
// and static endpoints (host required).

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

struct HostPortParseResult {
  std::optional<HostPort> value;
  std::string error;  // set when value is empty
};

// Parses "host:port", ":port" (only if allow_empty_host) or "[v6addr]:port".
HostPortParseResult parse_host_port(std::string_view text, bool allow_empty_host);

// "host:port", "[v6]:port" or ":port".
std::string format_host_port(const HostPort& address);

}  // namespace ringgate::config
