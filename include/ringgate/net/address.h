#pragma once
// IPv4 socket addresses as the gateway's flags spell them: "HOST:PORT" or ":PORT".
#include <netinet/in.h>

#include <optional>
#include <string>
#include <string_view>

namespace ringgate::net {

struct Address {
  sockaddr_in sin{};

  uint16_t port() const { return ntohs(sin.sin_port); }
  // "a.b.c.d:port".
  std::string to_string() const;
};

// Parses "HOST:PORT" (HOST an IPv4 literal or "localhost") or ":PORT" (all interfaces).
// Returns nullopt for anything else: no DNS lookups happen here.
std::optional<Address> parse_address(std::string_view text);

// The local address a bound socket ended up on (port 0 resolved).
std::optional<Address> local_address(int fd);

}  // namespace ringgate::net
