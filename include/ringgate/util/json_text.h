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

void append_uint(std::string& out, uint64_t value);
void append_int(std::string& out, int64_t value);
void append_hex(std::string& out, uint64_t value);  // lower case, no prefix

// Appends `value` as a JSON number with at most `significant_digits` (1..17; 17 round-trips
// every double), shortest form ("0.25", "1e+06", "3"), whatever the C locale says. NaN and
// infinities are not JSON: they are written as null.
void append_json_double(std::string& out, double value, int significant_digits = 6);

}  // namespace ringgate::util
