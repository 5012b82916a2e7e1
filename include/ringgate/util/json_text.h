#pragma once
// Writing JSON text by hand (error bodies, SSE chunks, admin pages) without a
// serializer: the one place that knows how a string is escaped.
#include <cstdint>
#include <string>
#include <string_view>

namespace ringgate::util {

// Appends `text` as a quoted JSON string: quotes, backslashes and control bytes
// escaped; other bytes copied as they are (the caller passes UTF-8).
void append_json_string(std::string& out, std::string_view text);

// Appends the characters of `text` escaped as inside a JSON string, without quotes.
void append_json_escaped(std::string& out, std::string_view text);

// Appends the member "key":raw (`raw` already JSON text) to an object being written: `out`
// holds its '{' and any members so far, and a comma goes before every member but the first.
void append_json_member(std::string& out, std::string_view key, std::string_view raw);

// JSON's insignificant whitespace (RFC 8259): space, tab, line feed, carriage return.
inline bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void append_uint(std::string& out, uint64_t value);
void append_int(std::string& out, int64_t value);
void append_hex(std::string& out, uint64_t value);  // lower case, no prefix

// Appends `value` as a JSON number with at most `significant_digits` (1..17; 17 round-trips
// every double), shortest form ("0.25", "1e+06", "3"), whatever the C locale says. NaN and
// infinities are not JSON: they are written as null.
void append_json_double(std::string& out, double value, int significant_digits = 6);

}  // namespace ringgate::util
