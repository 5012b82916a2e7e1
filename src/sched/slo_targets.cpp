#include "ringgate/sched/slo_targets.h"

namespace ringgate::sched {

double parse_slo_ms(std::string_view v) {
  // Strict by hand (no locale, no exponent, no sign, no hex, no inf/nan): digits, at
  // most one '.', at least one digit. strtod would take "1e400", " 5", "inf", "0x10".
  if (v.empty() || v.size() > 16) return 0;
  double whole = 0, fraction = 0, scale = 1;
  bool dot = false, digit = false;
  for (char c : v) {
    if (c == '.') {
      if (dot) return 0;
      dot = true;
    } else if (c >= '0' && c <= '9') {
      digit = true;
      if (dot) {
        scale /= 10;
        fraction += (c - '0') * scale;
      } else {
        whole = whole * 10 + (c - '0');  // <= 16 digits: exact enough, no overflow
      }
    } else {
      return 0;
    }
  }
  const double ms = whole + fraction;
  if (!digit || !(ms > 0) || ms > kMaxSloMs) return 0;
  return ms;
}

}  // namespace ringgate::sched
