#include "ringgate/util/json_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace ringgate::util {

void append_json_escaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t run = 0;  // start of the pending run of bytes that need no escape
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
  }
  out.append(text.data() + run, text.size() - run);
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  append_json_escaped(out, text);
  out += '"';
}

void append_json_member(std::string& out, std::string_view key, std::string_view raw) {
  if (out.size() > 1) out += ',';
  append_json_string(out, key);
  out += ':';
  out += raw;
}

void append_json_double(std::string& out, double value, int significant_digits) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buf[32];  // 17 digits, sign, point, exponent
  auto [end, ec] =
      std::to_chars(buf, buf + sizeof buf, value, std::chars_format::general, std::clamp(significant_digits, 1, 17));
  if (ec != std::errc()) {
    out += "null";  // cannot happen with 32 bytes
    return;
  }
  out.append(buf, end);
}

void append_uint(std::string& out, uint64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  (void)ec;
  out.append(buf, end);
}

void append_int(std::string& out, int64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  (void)ec;
  out.append(buf, end);
}

void append_hex(std::string& out, uint64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, 16);
  (void)ec;
  out.append(buf, end);
}

}  // namespace ringgate::util
