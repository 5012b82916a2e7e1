// Small helpers to write JSON text by hand on the hot path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ringgate::sim {

// Appends `text` as a quoted JSON string (escapes quotes, backslashes and control bytes).
void append_json_string(std::string& out, std::string_view text);

void append_uint(std::string& out, uint64_t value);

}  // namespace ringgate::sim
