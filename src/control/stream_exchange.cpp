#include "ringgate/control/stream_exchange.h"

#include <algorithm>

namespace ringgate::control {

bool valid_stream_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxStreamIdBytes) return false;
  const size_t dash = id.find('-');
  auto digits = [](std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return dash == std::string_view::npos ? digits(id) : digits(id.substr(0, dash)) && digits(id.substr(dash + 1));
}

}  // namespace ringgate::control
