#pragma once
// How a value read from a pod (an annotation, a label) appears in a reason or a log line:
// whoever can edit pods wrote it, so it is bounded and printable.
#include <string>
#include <string_view>

namespace ringgate::discovery {

// The first 32 bytes, each outside printable ASCII (and any quote or backslash) shown as
// '?', and "..." when there were more.
inline std::string shown_value(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 32)) out.push_back(c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? c : '?');
  if (text.size() > 32) out += "...";
  return out;
}

}  // namespace ringgate::discovery
