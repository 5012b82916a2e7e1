#pragma once
// Private (chat templates): the values a template computes with, as the reference
// renderer (@huggingface/jinja) has them, and their texts.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringgate::tokenize::jinja {

struct Value;
using Array = std::vector<Value>;
using Object = std::vector<std::pair<std::string, Value>>;  // insertion order, as JSON objects

struct Value {
  enum class Kind { Undefined, None, Bool, Int, Float, String, Array, Object };
  Kind kind = Kind::Undefined;
  bool b = false;
  std::int64_t i = 0;
  double f = 0;
  std::string s;
  std::shared_ptr<Array> a;
  std::shared_ptr<Object> o;  // shared: a namespace is changed through any copy
  bool is_namespace = false;

  static Value none() { Value v; v.kind = Kind::None; return v; }
  static Value boolean(bool x) { Value v; v.kind = Kind::Bool; v.b = x; return v; }
  static Value integer(std::int64_t x) { Value v; v.kind = Kind::Int; v.i = x; return v; }
  static Value number(double x) { Value v; v.kind = Kind::Float; v.f = x; return v; }
  static Value string(std::string x) { Value v; v.kind = Kind::String; v.s = std::move(x); return v; }
  static Value array(Array x = {}) { Value v; v.kind = Kind::Array; v.a = std::make_shared<Array>(std::move(x)); return v; }
  static Value object(Object x = {}) { Value v; v.kind = Kind::Object; v.o = std::make_shared<Object>(std::move(x)); return v; }

  const Value* find(std::string_view key) const {
    if (kind != Kind::Object) return nullptr;
    for (auto& [k, v] : *o) if (k == key) return &v;
    return nullptr;
  }
  void put(const std::string& key, Value v) {
    for (auto& [k, old] : *o) {
      if (k == key) { old = std::move(v); return; }
    }
    o->emplace_back(key, std::move(v));
  }
};

bool truthy(const Value& v);

void to_json(const Value& v, std::string& out, int depth = 0);

// What {{ value }} writes.
void append_text(const Value& v, std::string& out);

// What `'text' + value` appends in the reference (JavaScript's String of the value).
void append_plus_text(const Value& v, std::string& out);

// Strips JavaScript's String.prototype.trim set from the left and/or the right.
std::string js_trim(std::string_view s, bool left, bool right);

bool equal(const Value& a, const Value& b);

Value from_json(simdjson::dom::element e, int depth = 0);

}  // namespace ringgate::tokenize::jinja
