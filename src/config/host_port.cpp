#include "ringgate/config/host_port.h"

#include <charconv>

namespace ringgate::config {

namespace {

bool is_hostname_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

bool is_ipv6_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

HostPortParseResult fail(std::string_view text, std::string why) {
  return {std::nullopt, "invalid address \"" + std::string(text) + "\": " + why};
}

}  // namespace

HostPortParseResult parse_host_port(std::string_view text, bool allow_empty_host) {
  if (text.empty()) return {std::nullopt, "empty address (expected host:port)"};
  if (text.find("://") != std::string_view::npos) return fail(text, "expected host:port, not a URL");
  std::string_view host, port;
  if (text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return fail(text, "missing ']' after IPv6 address");
    host = text.substr(1, close - 1);
    if (host.empty()) return fail(text, "empty IPv6 address");
    for (char c : host)
      if (!is_ipv6_char(c)) return fail(text, "bad character in IPv6 address");
    if (close + 1 >= text.size() || text[close + 1] != ':') return fail(text, "missing :port");
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail(text, "missing :port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return fail(text, "IPv6 addresses must be written in brackets, e.g. [::1]:8000");
    for (char c : host)
      if (!is_hostname_char(c)) return fail(text, "bad character in host name");
    if (host.empty() && !allow_empty_host) return fail(text, "missing host");
    if (!host.empty() && (host.front() == '.' || host.front() == '-' || host.back() == '-'))
      return fail(text, "malformed host name");
    // A DNS name's limit (RFC 1035): a longer one can never resolve.
    if (host.size() > kMaxHostNameBytes)
      return {std::nullopt,
              "invalid address \"" + std::string(text.substr(0, 64)) + "...\": host name longer than 253 bytes"};
  }
  if (port.empty()) return fail(text, "missing port number");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size()) return fail(text, "port must be a number");
  if (value < 1 || value > 65535) return fail(text, "port must be 1-65535");
  return {HostPort{std::string(host), uint16_t(value)}, {}};
}

std::string format_host_port(const HostPort& address) {
  std::string port = ":" + std::to_string(address.port);
  if (address.host.find(':') != std::string::npos) return "[" + address.host + "]" + port;
  return address.host + port;
}

}  // namespace ringgate::config
