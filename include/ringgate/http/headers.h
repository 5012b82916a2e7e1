#pragma once
// Header fields as the parsers hand them over, and the proxy's rules about them.
#include <string>
#include <string_view>
#include <vector>

namespace ringgate::http {

struct Header {
  std::string name;   // lower-cased
  std::string value;  // surrounding whitespace trimmed by llhttp
};

using Headers = std::vector<Header>;

bool iequals(std::string_view a, std::string_view b);

// The value of the first field called `name` (lower-case), or empty.
std::string_view find_header(const Headers& headers, std::string_view name);

// Hop-by-hop fields (RFC 9110 §7.6.1) plus those named in the message's own
// Connection header: never forwarded by a proxy.
bool is_hop_by_hop(std::string_view lower_name, std::string_view connection_value);

}  // namespace ringgate::http
