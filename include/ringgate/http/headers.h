#pragma once
// Header fields as the parsers hand them over, and the proxy's rules about them.
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ringgate::http {

struct Header {
  std::string name;   // lower-cased
  std::string value;  // surrounding whitespace trimmed by llhttp
};

using Headers = std::vector<Header>;

inline char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? char(c | 0x20) : c; }

// Appends `text` lower-cased (ASCII: field names are tokens, RFC 9110 §5.1).
inline void append_lower(std::string& out, const char* text, size_t len) {
  const size_t old = out.size();
  out.resize(old + len);
  for (size_t i = 0; i < len; ++i) out[old + i] = ascii_lower(text[i]);
}

bool iequals(std::string_view a, std::string_view b);

// The value of the first field called `name` (lower-case), or empty.
std::string_view find_header(std::span<const Header> headers, std::string_view name);

// Hop-by-hop fields (RFC 9110 §7.6.1) plus those named in the message's own
// Connection header: never forwarded by a proxy.
bool is_hop_by_hop(std::string_view lower_name, std::string_view connection_value);

}  // namespace ringgate::http
