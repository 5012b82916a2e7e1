#include "ringgate/proxy/hop_count.h"

namespace ringgate::proxy {

std::optional<uint32_t> parse_hops(std::string_view value) {
  if (value.empty()) return 0;
  if (value.size() > 4) return std::nullopt;
  uint32_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + uint32_t(c - '0');
  }
  if (n > kMaxHopsValue) return std::nullopt;
  return n;
}

}  // namespace ringgate::proxy
