#include "ringgate/config/gateway_config.h"

#include <algorithm>

namespace ringgate::config {

bool GatewayConfig::file_sets(std::string_view path) const {
  auto it = std::lower_bound(set_by_file.begin(), set_by_file.end(), path,
                             [](const std::string& a, std::string_view b) { return std::string_view(a) < b; });
  for (; it != set_by_file.end(); ++it) {
    std::string_view set = *it;
    if (!set.starts_with(path)) return false;
    if (set.size() == path.size() || set[path.size()] == '.') return true;
  }
  return false;
}

}  // namespace ringgate::config
