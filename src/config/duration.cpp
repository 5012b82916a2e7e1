#include "ringgate/config/duration.h"

#include <cstdint>
#include <limits>

namespace ringgate::config {

namespace {

struct Unit {
  std::string_view suffix;
  int64_t nanos;
};

// "ms" comes before "m" so it is not read as minutes followed by "s".
constexpr Unit units[] = {
    {"ns", 1},
    {"us", 1'000},
    {"\xC2\xB5s", 1'000},  // U+00B5 micro sign
    {"\xCE\xBCs", 1'000},  // U+03BC Greek mu
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

DurationParseResult parse_duration(std::string_view text) {
  const std::string hint = " (expected e.g. \"500ms\", \"5s\", \"1m30s\")";
  if (text.empty()) return {std::nullopt, "empty duration" + hint};
  if (text[0] == '-') return {std::nullopt, "negative duration \"" + std::string(text) + "\""};
  std::string_view rest = text;
  if (rest[0] == '+') rest.remove_prefix(1);
  if (rest == "0") return {std::chrono::nanoseconds(0), {}};
  if (rest.empty()) return {std::nullopt, "invalid duration \"" + std::string(text) + "\"" + hint};

  constexpr int64_t max = std::numeric_limits<int64_t>::max();
  int64_t total = 0;
  while (!rest.empty()) {
    // <integer part>[.<fraction>]
    size_t i = 0;
    uint64_t whole = 0;
    bool overflow = false;
    while (i < rest.size() && is_digit(rest[i])) {
      if (whole > (uint64_t(max) - 9) / 10)
        overflow = true;
      else
        whole = whole * 10 + uint64_t(rest[i] - '0');
      ++i;
    }
    size_t int_digits = i;
    uint64_t fraction = 0, fraction_scale = 1;
    size_t frac_digits = 0;
    if (i < rest.size() && rest[i] == '.') {
      ++i;
      while (i < rest.size() && is_digit(rest[i])) {
        if (fraction_scale < 1'000'000'000'000'000ull) {  // beyond 1e-18 is below 1 ns anyway
          fraction = fraction * 10 + uint64_t(rest[i] - '0');
          fraction_scale *= 10;
        }
        ++i;
        ++frac_digits;
      }
    }
    if (int_digits == 0 && frac_digits == 0)
      return {std::nullopt, "invalid duration \"" + std::string(text) + "\"" + hint};
    rest.remove_prefix(i);
    const Unit* found = nullptr;
    for (const Unit& u : units) {
      if (rest.substr(0, u.suffix.size()) == u.suffix) {
        found = &u;
        break;
      }
    }
    if (!found) {
      if (rest.empty()) return {std::nullopt, "missing unit in duration \"" + std::string(text) + "\"" + hint};
      return {std::nullopt, "unknown unit in duration \"" + std::string(text) + "\"" + hint};
    }
    rest.remove_prefix(found->suffix.size());
    if (overflow || whole > uint64_t(max / found->nanos))
      return {std::nullopt, "duration \"" + std::string(text) + "\" is too large"};
    int64_t part = int64_t(whole) * found->nanos;
    // fraction / scale * nanos, without floating point; nanos ≤ 3.6e12, scale ≤ 1e18.
    long double frac_nanos = (long double)fraction / (long double)fraction_scale * (long double)found->nanos;
    part += int64_t(frac_nanos);
    if (part < 0 || total > max - part) return {std::nullopt, "duration \"" + std::string(text) + "\" is too large"};
    total += part;
  }
  return {std::chrono::nanoseconds(total), {}};
}

std::string format_duration(std::chrono::nanoseconds value) {
  int64_t ns = value.count();
  if (ns == 0) return "0s";
  std::string sign;
  uint64_t v = ns < 0 ? uint64_t(0) - uint64_t(ns) : uint64_t(ns);
  if (ns < 0) sign = "-";
  auto with_fraction = [](uint64_t whole, uint64_t frac, int digits) {
    std::string out = std::to_string(whole);
    if (frac != 0) {
      std::string f = std::to_string(frac);
      f.insert(0, size_t(digits) - f.size(), '0');
      while (!f.empty() && f.back() == '0') f.pop_back();
      out += '.' + f;
    }
    return out;
  };
  if (v < 1'000) return sign + std::to_string(v) + "ns";
  if (v < 1'000'000) return sign + with_fraction(v / 1'000, v % 1'000, 3) + "us";
  if (v < 1'000'000'000) return sign + with_fraction(v / 1'000'000, v % 1'000'000, 6) + "ms";
  const uint64_t second = 1'000'000'000;
  uint64_t hours = v / (3600 * second);
  uint64_t minutes = (v / (60 * second)) % 60;
  uint64_t rest = v % (60 * second);
  std::string out = sign;
  if (hours) out += std::to_string(hours) + "h";
  if (hours || minutes) out += std::to_string(minutes) + "m";
  if (rest != 0 || (!hours && !minutes))
    out += with_fraction(rest / second, rest % second, 9) + "s";
  else if (hours || minutes)
    out += "0s";
  // Go prints "1h0m0s"; trim the zero tails for readability.
  if (out.size() > 3 && out.ends_with("m0s")) out.resize(out.size() - 2);
  if (out.size() > 2 && out.ends_with("h0m")) out.resize(out.size() - 2);
  return out;
}

}  // namespace ringgate::config
