#include "ringgate/net/address.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

namespace ringgate::net {

std::string Address::to_string() const {
  char host[INET6_ADDRSTRLEN] = {};
  if (sa.sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &sin6.sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(port());
  }
  inet_ntop(AF_INET, &sin.sin_addr, host, sizeof host);
  return std::string(host) + ":" + std::to_string(port());
}

std::optional<Address> Address::from(const sockaddr_storage& storage) {
  Address address;
  if (storage.ss_family == AF_INET) std::memcpy(&address.sin, &storage, sizeof address.sin);
  else if (storage.ss_family == AF_INET6) std::memcpy(&address.sin6, &storage, sizeof address.sin6);
  else return std::nullopt;
  return address;
}

std::optional<Address> parse_address(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string host(text.substr(0, colon));
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port_text.empty() || port > 65535) {
    return std::nullopt;
  }
  Address address;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    address.sin6.sin6_family = AF_INET6;
    address.sin6.sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &address.sin6.sin6_addr) != 1) return std::nullopt;
    return address;
  }
  address.sin.sin_family = AF_INET;
  address.sin.sin_port = htons(static_cast<uint16_t>(port));
  if (host.empty() || host == "0.0.0.0" || host == "*") {
    address.sin.sin_addr.s_addr = htonl(INADDR_ANY);
  } else if (host == "localhost") {
    address.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  } else if (inet_pton(AF_INET, host.c_str(), &address.sin.sin_addr) != 1) {
    return std::nullopt;
  }
  return address;
}

std::optional<Address> local_address(int fd) {
  sockaddr_storage storage{};
  socklen_t len = sizeof storage;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &len) != 0) return std::nullopt;
  return Address::from(storage);
}

}  // namespace ringgate::net
