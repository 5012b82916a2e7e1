#pragma once
// simdjson on-demand helpers shared by the openai readers that splice JSON (inside
// src/openai only: simdjson's inline types stay out of the public headers, see
// request_body.h).
#include <simdjson.h>

#include <string_view>

namespace ringgate::openai::detail {

// A value's raw JSON text, trailing whitespace dropped (objects and arrays are
// consumed); simdjson 3.0's value has no raw_json() of its own.
inline bool raw_json_of(simdjson::ondemand::value& v, std::string_view& out) {
  namespace od = simdjson::ondemand;
  od::json_type type;
  if (v.type().get(type) != simdjson::SUCCESS) return false;
  if (type == od::json_type::object) {
    od::object o;
    if (v.get_object().get(o) != simdjson::SUCCESS || o.raw_json().get(out) != simdjson::SUCCESS) return false;
  } else if (type == od::json_type::array) {
    od::array a;
    if (v.get_array().get(a) != simdjson::SUCCESS || a.raw_json().get(out) != simdjson::SUCCESS) return false;
  } else {
    out = v.raw_json_token();
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\n' || out.back() == '\r' || out.back() == '\t'))
    out.remove_suffix(1);
  return true;
}

inline bool is_null(simdjson::ondemand::value& v) {
  simdjson::ondemand::json_type type;
  return v.type().get(type) == simdjson::SUCCESS && type == simdjson::ondemand::json_type::null;
}

}  // namespace ringgate::openai::detail
