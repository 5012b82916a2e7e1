#pragma once
// Private helpers: typed reads of optional fields from a simdjson DOM object,
// with the JSON path in every error. Kubernetes omits or nulls optional
// fields, so "absent" and "null" both leave the output untouched.
#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

#include "ringgate/discovery/result.h"

namespace ringgate::discovery::json {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// The field, or nullopt when absent or null.
inline std::optional<element> field(const object& obj, std::string_view key) {
  element value;
  if (obj.at_key(key).get(value) != simdjson::SUCCESS || value.is_null()) return std::nullopt;
  return value;
}

inline Error type_error(std::string_view path, std::string_view expected) {
  return Error{std::string(path) + ": expected " + std::string(expected)};
}

inline Result<void> read_string(const object& obj, std::string_view key, std::string_view path, std::string& out) {
  auto value = field(obj, key);
  if (!value) return {};
  std::string_view text;
  if (value->get_string().get(text) != simdjson::SUCCESS) return type_error(path, "a string");
  out.assign(text);
  return {};
}

inline Result<void> read_bool(const object& obj, std::string_view key, std::string_view path,
                              std::optional<bool>& out) {
  auto value = field(obj, key);
  if (!value) return {};
  bool flag = false;
  if (value->get_bool().get(flag) != simdjson::SUCCESS) return type_error(path, "a boolean");
  out = flag;
  return {};
}

inline Result<void> read_int(const object& obj, std::string_view key, std::string_view path,
                             std::optional<long long>& out) {
  auto value = field(obj, key);
  if (!value) return {};
  int64_t number = 0;
  if (value->get_int64().get(number) != simdjson::SUCCESS) return type_error(path, "an integer");
  out = number;
  return {};
}

// Result: the object, or nullopt when absent/null; Error when another type.
inline Result<std::optional<object>> read_object(const object& obj, std::string_view key, std::string_view path) {
  auto value = field(obj, key);
  if (!value) return std::optional<object>{};
  object inner;
  if (value->get_object().get(inner) != simdjson::SUCCESS) return type_error(path, "an object");
  return std::optional<object>{inner};
}

inline Result<std::optional<array>> read_array(const object& obj, std::string_view key, std::string_view path) {
  auto value = field(obj, key);
  if (!value) return std::optional<array>{};
  array inner;
  if (value->get_array().get(inner) != simdjson::SUCCESS) return type_error(path, "an array");
  return std::optional<array>{inner};
}

// Parses `json` into a DOM with this thread's reusable parser; the element
// stays valid until the next parse on this thread.
inline Result<object> parse_object(std::string_view json, std::string_view what) {
  static thread_local simdjson::dom::parser parser;
  element root;
  if (auto error = parser.parse(json.data(), json.size()).get(root); error != simdjson::SUCCESS)
    return Error{std::string(what) + ": invalid JSON (" + simdjson::error_message(error) + ")"};
  object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) return Error{std::string(what) + ": not a JSON object"};
  return obj;
}

}  // namespace ringgate::discovery::json
