#pragma once
// Socket addresses as the gateway's flags spell them: "HOST:PORT", "[V6]:PORT" or
// ":PORT". IPv4 or IPv6 (EndpointSlices may carry either).
#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

namespace ringgate::net {

struct Address {
  union {
    sockaddr sa;
    sockaddr_in sin;
    sockaddr_in6 sin6;
  };
  Address() : sin6{} {}

  int family() const { return sa.sa_family; }
  socklen_t length() const { return sa.sa_family == AF_INET6 ? sizeof sin6 : sizeof sin; }
  uint16_t port() const { return ntohs(sa.sa_family == AF_INET6 ? sin6.sin6_port : sin.sin_port); }
  // "a.b.c.d:port" or "[v6]:port".
  std::string to_string() const;
  // From a resolved sockaddr (AF_INET or AF_INET6); nullopt for anything else.
  static std::optional<Address> from(const sockaddr_storage& storage);
};

// Parses "HOST:PORT" (HOST an IPv4 literal, "[IPv6 literal]" or "localhost") or
// ":PORT" (all interfaces). Returns nullopt for anything else: no DNS lookups here.
std::optional<Address> parse_address(std::string_view text);

// The local address a bound socket ended up on (port 0 resolved).
std::optional<Address> local_address(int fd);

}  // namespace ringgate::net
