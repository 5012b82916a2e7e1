#pragma once
// One problem found in a config file, with where it is.

#include <string>
#include <vector>

namespace ringgate::config {

// 1-based line and column, as editors show them. line 0 means "no position"
// (for example: the file could not be read at all).
struct SourcePosition {
  int line = 0;
  int column = 0;
};

struct ConfigError {
  std::string file;  // as given to the loader; "<text>" for in-memory text
  SourcePosition position;
  std::string message;  // "<field path>: <what is wrong>", no trailing newline
};

// "FILE:LINE:COL: message" (or "FILE: message" without a position).
std::string format_error(const ConfigError& error);

// Orders errors by line then column, keeping the discovery order for ties.
void sort_by_position(std::vector<ConfigError>& errors);

}  // namespace ringgate::config
