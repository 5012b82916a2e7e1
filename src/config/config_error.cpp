#include "ringgate/config/config_error.h"

#include <algorithm>

namespace ringgate::config {

std::string format_error(const ConfigError& error) {
  std::string out = error.file;
  if (error.position.line > 0) {
    out += ':' + std::to_string(error.position.line) + ':' + std::to_string(error.position.column);
  }
  out += ": ";
  out += error.message;
  return out;
}

void sort_by_position(std::vector<ConfigError>& errors) {
  std::stable_sort(errors.begin(), errors.end(), [](const ConfigError& a, const ConfigError& b) {
    if (a.position.line != b.position.line) return a.position.line < b.position.line;
    return a.position.column < b.position.column;
  });
}

}  // namespace ringgate::config
