#include "jinja_value.h"

#include <charconv>

#include "jinja_error.h"
#include "ringgate/util/json_text.h"

namespace ringgate::tokenize::jinja {

bool truthy(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Undefined: case Value::Kind::None: return false;
    case Value::Kind::Bool: return v.b;
    case Value::Kind::Int: return v.i != 0;
    case Value::Kind::Float: return v.f != 0;
    case Value::Kind::String: return !v.s.empty();
    case Value::Kind::Array: return !v.a->empty();
    case Value::Kind::Object: return v.is_namespace || !v.o->empty();
  }
  return false;
}

namespace {

std::string number_text(double f);

// The reference's FloatValue text: an integral float keeps one decimal ("3.0").
std::string float_text(double f) {
  if (f == static_cast<double>(static_cast<std::int64_t>(f)) && f > -1e15 && f < 1e15) {
    return std::to_string(static_cast<std::int64_t>(f)) + ".0";
  }
  return number_text(f);
}

std::string number_text(double f) {
  // JavaScript's Number to string: shortest round trip, plain between 1e-6 and 1e21.
  if (f == static_cast<double>(static_cast<std::int64_t>(f)) && f > -1e21 && f < 1e21) {
    return std::to_string(static_cast<std::int64_t>(f));
  }
  char buf[64];
  double a = f < 0 ? -f : f;
  auto fmt = (a >= 1e-6 && a < 1e21) ? std::chars_format::fixed : std::chars_format::scientific;
  auto r = std::to_chars(buf, buf + sizeof buf, f, fmt);
  return std::string(buf, r.ptr);
}

}  // namespace

void to_json(const Value& v, std::string& out, int depth) {
  if (depth > 64) fail("tojson: nested too deep");
  switch (v.kind) {
    case Value::Kind::Undefined: case Value::Kind::None: out += "null"; break;
    case Value::Kind::Bool: out += v.b ? "true" : "false"; break;
    case Value::Kind::Int: out += std::to_string(v.i); break;
    case Value::Kind::Float: out += number_text(v.f); break;
    case Value::Kind::String: util::append_json_string(out, v.s); break;
    case Value::Kind::Array: {
      out.push_back('[');
      bool first = true;
      for (const Value& x : *v.a) {
        if (!first) out += ", ";
        first = false;
        to_json(x, out, depth + 1);
      }
      out.push_back(']');
      break;
    }
    case Value::Kind::Object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [k, x] : *v.o) {
        if (!first) out += ", ";
        first = false;
        util::append_json_string(out, k);
        out += ": ";
        to_json(x, out, depth + 1);
      }
      out.push_back('}');
      break;
    }
  }
}

// What {{ value }} writes.
void append_text(const Value& v, std::string& out) {
  switch (v.kind) {
    case Value::Kind::Undefined: break;
    case Value::Kind::None: break;
    case Value::Kind::Bool: out += v.b ? "true" : "false"; break;
    case Value::Kind::Int: out += std::to_string(v.i); break;
    case Value::Kind::Float: out += float_text(v.f); break;
    case Value::Kind::String: out += v.s; break;
    default: to_json(v, out); break;
  }
}

// What `'text' + value` appends in the reference: JavaScript's String(value.value),
// so a list is its items' texts joined by ',', a mapping is "[object Map]".
void append_plus_text(const Value& v, std::string& out) {
  switch (v.kind) {
    case Value::Kind::Undefined: case Value::Kind::None: fail("'+' of a none or undefined value");
    case Value::Kind::Bool: out += v.b ? "true" : "false"; break;
    case Value::Kind::Int: out += std::to_string(v.i); break;
    case Value::Kind::Float: out += number_text(v.f); break;
    case Value::Kind::String: out += v.s; break;
    case Value::Kind::Object: out += "[object Map]"; break;
    case Value::Kind::Array: {
      bool first = true;
      for (const Value& x : *v.a) {
        if (!first) out.push_back(',');
        first = false;
        switch (x.kind) {
          case Value::Kind::Undefined: out += "undefined"; break;
          case Value::Kind::None: out += "null"; break;
          case Value::Kind::Float: out += float_text(x.f); break;
          case Value::Kind::Array: case Value::Kind::Object: to_json(x, out); break;
          default: append_text(x, out);
        }
      }
      break;
    }
  }
}

namespace {

// JavaScript's String.prototype.trim set: what the reference's trim/strip remove.
std::size_t js_space_at(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c == ' ' || (c >= '\t' && c <= '\r')) return 1;
  if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xA0) return 2;
  if ((c == 0xE1 || c == 0xE2 || c == 0xE3 || c == 0xEF) && i + 2 < s.size()) {
    char32_t cp = ((c & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) |
                  (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
    if (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
        cp == 0x205F || cp == 0x3000 || cp == 0xFEFF) {
      return 3;
    }
  }
  return 0;
}

}  // namespace

std::string js_trim(std::string_view s, bool left, bool right) {
  std::size_t b = 0, e = s.size();
  if (left) {
    while (b < e) {
      std::size_t n = js_space_at(s, b);
      if (n == 0) break;
      b += n;
    }
  }
  if (right) {
    while (e > b) {
      // Step back to the start of the last character, then test it.
      std::size_t start = e - 1;
      while (start > b && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
      std::size_t n = js_space_at(s, start);
      if (n == 0 || start + n != e) break;
      e = start;
    }
  }
  return std::string(s.substr(b, e - b));
}

bool equal(const Value& a, const Value& b) {
  using K = Value::Kind;
  if ((a.kind == K::Int || a.kind == K::Float) && (b.kind == K::Int || b.kind == K::Float)) {
    double x = a.kind == K::Int ? static_cast<double>(a.i) : a.f;
    double y = b.kind == K::Int ? static_cast<double>(b.i) : b.f;
    return x == y;
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case K::Undefined: case K::None: return true;
    case K::Bool: return a.b == b.b;
    case K::String: return a.s == b.s;
    case K::Array:
      if (a.a->size() != b.a->size()) return false;
      for (std::size_t i = 0; i < a.a->size(); ++i) if (!equal((*a.a)[i], (*b.a)[i])) return false;
      return true;
    case K::Object: return a.o == b.o;
    default: return false;
  }
}

Value from_json(simdjson::dom::element e, int depth) {
  if (depth > 64) fail("messages nested too deep");
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY: {
      Array a;
      simdjson::dom::array arr;
      if (e.get(arr)) fail("bad array");
      for (auto x : arr) a.push_back(from_json(x, depth + 1));
      return Value::array(std::move(a));
    }
    case simdjson::dom::element_type::OBJECT: {
      Object o;
      simdjson::dom::object obj;
      if (e.get(obj)) fail("bad object");
      for (auto [k, x] : obj) {
        std::string key(k);
        bool replaced = false;
        for (auto& [ok, ov] : o) {
          if (ok == key) { ov = from_json(x, depth + 1); replaced = true; }
        }
        if (!replaced) o.emplace_back(std::move(key), from_json(x, depth + 1));
      }
      return Value::object(std::move(o));
    }
    case simdjson::dom::element_type::INT64: return Value::integer(e.get_int64().value_unsafe());
    case simdjson::dom::element_type::UINT64: return Value::number(static_cast<double>(e.get_uint64().value_unsafe()));
    case simdjson::dom::element_type::DOUBLE: return Value::number(e.get_double().value_unsafe());
    case simdjson::dom::element_type::STRING: return Value::string(std::string(e.get_string().value_unsafe()));
    case simdjson::dom::element_type::BOOL: return Value::boolean(e.get_bool().value_unsafe());
    case simdjson::dom::element_type::NULL_VALUE: return Value::none();
  }
  return Value{};
}

}  // namespace ringgate::tokenize::jinja
