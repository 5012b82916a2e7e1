#include "jinja_renderer.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "jinja_error.h"
#include "ringgate/tokenize/chat_template.h"

namespace ringgate::tokenize::jinja {

Renderer::Renderer(std::string& out) : out_(out) { scopes_.emplace_back(); }

void Renderer::set_global(const std::string& name, Value v) { scopes_.front()[name] = std::move(v); }

void Renderer::run(const Body& body) {
  for (const auto& s : body) exec(*s);
}

void Renderer::step() {
  if (++steps_ > kMaxRenderSteps) fail("template took too many steps");
}

Value Renderer::lookup(const std::string& name) const {
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
    auto found = it->find(name);
    if (found != it->end()) return found->second;
  }
  return Value{};
}

void Renderer::exec(const Stmt& s) {
  step();
  switch (s.kind) {
    case Stmt::Kind::Text: out_ += s.text; break;
    case Stmt::Kind::Output: append_text(eval(*s.expr), out_); break;
    case Stmt::Kind::If:
      if (truthy(eval(*s.expr))) run(s.body); else run(s.else_body);
      break;
    case Stmt::Kind::Set: {
      Value v = eval(*s.expr);
      if (s.targets.size() == 2) {
        Value ns = lookup(s.targets[0]);
        if (ns.kind != Value::Kind::Object || !ns.is_namespace) fail("set of an attribute of a non-namespace");
        ns.put(s.targets[1], std::move(v));
      } else {
        scopes_.back()[s.targets[0]] = std::move(v);
      }
      break;
    }
    case Stmt::Kind::For: exec_for(s); break;
  }
  if (out_.size() > kMaxRenderedBytes) fail("rendered text larger than the bound");
}

void Renderer::exec_for(const Stmt& s) {
  Value iterable = eval(*s.expr);
  // Arrays are read in place (no template changes an array); an object's keys are copied out.
  Array keys;
  const Array* source = &keys;
  if (iterable.kind == Value::Kind::Array) {
    source = iterable.a.get();
  } else if (iterable.kind == Value::Kind::Object) {
    keys.reserve(iterable.o->size());
    for (auto& [k, v] : *iterable.o) keys.push_back(Value::string(k));
  } else if (iterable.kind == Value::Kind::String) {
    fail("iterating a string is not supported");
  } else {
    fail("for over a value that is not iterable");
  }
  const Array& items = *source;
  if (items.empty()) {
    run(s.else_body);
    return;
  }
  scopes_.emplace_back();
  auto n = static_cast<std::int64_t>(items.size());
  for (std::int64_t i = 0; i < n; ++i) {
    auto& scope = scopes_.back();
    const Value& item = items[static_cast<std::size_t>(i)];
    if (s.targets.size() == 1) {
      scope[s.targets[0]] = item;
    } else {
      if (item.kind != Value::Kind::Array || item.a->size() != s.targets.size()) fail("cannot unpack loop item");
      for (std::size_t k = 0; k < s.targets.size(); ++k) scope[s.targets[k]] = (*item.a)[k];
    }
    Object loop;
    loop.reserve(9);
    loop.emplace_back("index", Value::integer(i + 1));
    loop.emplace_back("index0", Value::integer(i));
    loop.emplace_back("revindex", Value::integer(n - i));
    loop.emplace_back("revindex0", Value::integer(n - i - 1));
    loop.emplace_back("first", Value::boolean(i == 0));
    loop.emplace_back("last", Value::boolean(i == n - 1));
    loop.emplace_back("length", Value::integer(n));
    loop.emplace_back("previtem", i > 0 ? items[static_cast<std::size_t>(i - 1)] : Value{});
    loop.emplace_back("nextitem", i + 1 < n ? items[static_cast<std::size_t>(i + 1)] : Value{});
    scope["loop"] = Value::object(std::move(loop));
    run(s.body);
  }
  scopes_.pop_back();
}

std::int64_t Renderer::as_int(const Value& v, const char* what) {
  if (v.kind == Value::Kind::Int) return v.i;
  if (v.kind == Value::Kind::Bool) return v.b ? 1 : 0;
  fail(std::string(what) + ": not an integer");
}

Value Renderer::attribute(const Value& obj, const std::string& name) {
  if (obj.kind == Value::Kind::Object) {
    const Value* v = obj.find(name);
    return v != nullptr ? *v : Value{};
  }
  return Value{};
}

Value Renderer::index(const Value& obj, const Value& key) {
  if (obj.kind == Value::Kind::Object) {
    if (key.kind != Value::Kind::String) return Value{};
    return attribute(obj, key.s);
  }
  if (obj.kind == Value::Kind::Array || obj.kind == Value::Kind::String) {
    if (key.kind != Value::Kind::Int) fail("index is not an integer");
    auto size = static_cast<std::int64_t>(obj.kind == Value::Kind::Array ? obj.a->size() : obj.s.size());
    std::int64_t i = key.i < 0 ? key.i + size : key.i;
    if (i < 0 || i >= size) return Value{};
    if (obj.kind == Value::Kind::Array) return (*obj.a)[static_cast<std::size_t>(i)];
    if (static_cast<unsigned char>(obj.s[static_cast<std::size_t>(i)]) >= 0x80) fail("indexing non-ASCII text");
    return Value::string(obj.s.substr(static_cast<std::size_t>(i), 1));
  }
  return Value{};
}

Value Renderer::slice(const Value& obj, const Expr* a, const Expr* b, const Expr* c) {
  std::int64_t stepv = c != nullptr ? as_int(eval(*c), "slice step") : 1;
  if (stepv == 0) fail("slice step is zero");
  std::int64_t size;
  if (obj.kind == Value::Kind::Array) {
    size = static_cast<std::int64_t>(obj.a->size());
  } else if (obj.kind == Value::Kind::String) {
    for (char ch : obj.s) if (static_cast<unsigned char>(ch) >= 0x80) fail("slicing non-ASCII text");
    size = static_cast<std::int64_t>(obj.s.size());
  } else {
    fail("slice of a value that is not a list or string");
  }
  auto clamp = [&](const Expr* e, std::int64_t fallback) {
    if (e == nullptr) return fallback;
    std::int64_t v = as_int(eval(*e), "slice bound");
    if (v < 0) v += size;
    if (stepv > 0) return std::clamp<std::int64_t>(v, 0, size);
    return std::clamp<std::int64_t>(v, -1, size - 1);
  };
  std::int64_t start = clamp(a, stepv > 0 ? 0 : size - 1);
  std::int64_t stop = clamp(b, stepv > 0 ? size : -1);
  Array items;
  std::string text;
  for (std::int64_t i = start; stepv > 0 ? i < stop : i > stop; i += stepv) {
    if (obj.kind == Value::Kind::Array) items.push_back((*obj.a)[static_cast<std::size_t>(i)]);
    else text.push_back(obj.s[static_cast<std::size_t>(i)]);
  }
  return obj.kind == Value::Kind::Array ? Value::array(std::move(items)) : Value::string(std::move(text));
}

Value Renderer::call_method(const Value& self, const std::string& name, const Expr& call) {
  std::vector<Value> args;
  for (std::size_t k = 1; k < call.args.size(); ++k) args.push_back(eval(*call.args[k]));
  auto str_arg = [&](std::size_t k) -> std::string {
    if (k >= args.size() || args[k].kind == Value::Kind::None) return {};
    if (args[k].kind != Value::Kind::String) fail(name + ": argument is not a string");
    return args[k].s;
  };
  if (self.kind == Value::Kind::String) {
    const std::string& s = self.s;
    if (name == "startswith") return Value::boolean(s.starts_with(str_arg(0)));
    if (name == "endswith") return Value::boolean(s.ends_with(str_arg(0)));
    // The reference strips whitespace whatever characters are asked for.
    if (name == "strip") return Value::string(js_trim(s, true, true));
    if (name == "lstrip") return Value::string(js_trim(s, true, false));
    if (name == "rstrip") return Value::string(js_trim(s, false, true));
    if (name == "split") {
      std::string sep = str_arg(0);
      if (sep.empty()) fail("split without a separator is not supported");
      Array parts;
      std::size_t pos = 0;
      while (true) {
        std::size_t hit = s.find(sep, pos);
        if (hit == std::string::npos) break;
        parts.push_back(Value::string(s.substr(pos, hit - pos)));
        pos = hit + sep.size();
        step();
      }
      parts.push_back(Value::string(s.substr(pos)));
      return Value::array(std::move(parts));
    }
    if (name == "replace") {
      std::string from = str_arg(0), to = str_arg(1);
      if (from.empty()) fail("replace of an empty string is not supported");
      std::string r;
      std::size_t pos = 0;
      while (true) {
        std::size_t hit = s.find(from, pos);
        if (hit == std::string::npos) break;
        r.append(s, pos, hit - pos).append(to);
        pos = hit + from.size();
      }
      r.append(s, pos);
      return Value::string(std::move(r));
    }
    if (name == "upper" || name == "lower") {
      std::string r = s;
      for (char& ch : r) {
        if (static_cast<unsigned char>(ch) >= 0x80) fail("upper/lower of non-ASCII text");
        ch = name == "upper" ? static_cast<char>(std::toupper(ch)) : static_cast<char>(std::tolower(ch));
      }
      return Value::string(std::move(r));
    }
  }
  if (self.kind == Value::Kind::Object && !self.is_namespace) {
    if (name == "get") {
      const Value* v = args.empty() || args[0].kind != Value::Kind::String ? nullptr : self.find(args[0].s);
      return v != nullptr ? *v : (args.size() > 1 ? args[1] : Value::none());
    }
    if (name == "items") {
      Array items;
      for (auto& [k, v] : *self.o) items.push_back(Value::array({Value::string(k), v}));
      return Value::array(std::move(items));
    }
    if (name == "keys" || name == "values") {
      Array items;
      for (auto& [k, v] : *self.o) items.push_back(name == "keys" ? Value::string(k) : v);
      return Value::array(std::move(items));
    }
  }
  fail("unsupported method '" + name + "'");
}

Value Renderer::call(const Expr& e) {
  const Expr& callee = *e.args[0];
  if (callee.kind == Expr::Kind::Attr) return call_method(eval(*callee.args[0]), callee.name, e);
  if (callee.kind != Expr::Kind::Name) fail("call of an expression");
  if (callee.name == "namespace") {
    Value ns = Value::object();
    ns.is_namespace = true;
    for (auto& [k, v] : e.kwargs) ns.put(k, eval(*v));
    return ns;
  }
  if (callee.name == "raise_exception") {
    Value msg = e.args.size() > 1 ? eval(*e.args[1]) : Value::string("raise_exception");
    std::string text;
    append_text(msg, text);
    fail("template raised: " + text);
  }
  fail("unsupported function '" + callee.name + "'");
}

Value Renderer::filter(const Expr& e) {
  Value v = eval(*e.args[0]);
  const std::string& f = e.name;
  if (f == "trim") {
    if (v.kind != Value::Kind::String) fail("trim of a non-string");
    return Value::string(js_trim(v.s, true, true));
  }
  if (f == "length" || f == "count") {
    if (v.kind == Value::Kind::String) {
      std::int64_t n = 0;
      for (char ch : v.s) n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80 ? ((static_cast<unsigned char>(ch) >= 0xF0) ? 2 : 1) : 0;
      return Value::integer(n);  // UTF-16 code units, as the reference counts
    }
    if (v.kind == Value::Kind::Array) return Value::integer(static_cast<std::int64_t>(v.a->size()));
    if (v.kind == Value::Kind::Object) return Value::integer(static_cast<std::int64_t>(v.o->size()));
    fail("length of a value without one");
  }
  if (f == "tojson") {
    if (!e.kwargs.empty() || e.args.size() > 1) fail("tojson arguments are not supported");
    std::string out;
    to_json(v, out);
    return Value::string(std::move(out));
  }
  if (f == "string") {
    std::string out;
    append_text(v, out);
    return Value::string(std::move(out));
  }
  if (f == "upper" || f == "lower") {
    if (v.kind != Value::Kind::String) fail(f + " of a non-string");
    for (char& ch : v.s) {
      if (static_cast<unsigned char>(ch) >= 0x80) fail("upper/lower of non-ASCII text");
      ch = f == "upper" ? static_cast<char>(std::toupper(ch)) : static_cast<char>(std::tolower(ch));
    }
    return v;
  }
  if (f == "first" || f == "last") {
    if (v.kind != Value::Kind::Array) fail(f + " of a non-list");
    if (v.a->empty()) return Value{};
    return f == "first" ? v.a->front() : v.a->back();
  }
  fail("unsupported filter '" + f + "'");
}

Value Renderer::test(const Expr& e) {
  Value v = eval(*e.args[0]);
  const std::string& t = e.name;
  bool r;
  if (t == "defined") r = v.kind != Value::Kind::Undefined;
  else if (t == "undefined") r = v.kind == Value::Kind::Undefined;
  else if (t == "none") r = v.kind == Value::Kind::None;
  else if (t == "string") r = v.kind == Value::Kind::String;
  else if (t == "number") r = v.kind == Value::Kind::Int || v.kind == Value::Kind::Float;
  else if (t == "integer") r = v.kind == Value::Kind::Int;
  else if (t == "boolean") r = v.kind == Value::Kind::Bool;
  else if (t == "mapping") r = v.kind == Value::Kind::Object;
  else if (t == "iterable" || t == "sequence") r = v.kind == Value::Kind::Array || v.kind == Value::Kind::String || v.kind == Value::Kind::Object;
  else if (t == "true") r = v.kind == Value::Kind::Bool && v.b;
  else if (t == "false") r = v.kind == Value::Kind::Bool && !v.b;
  else fail("unsupported test '" + t + "'");
  return Value::boolean(e.negated ? !r : r);
}

Value Renderer::arithmetic(const std::string& op, const Value& l, const Value& r) {
  using K = Value::Kind;
  if (op == "~") {
    std::string s;
    append_text(l, s);
    append_text(r, s);
    return Value::string(std::move(s));
  }
  if (op == "+" && (l.kind == K::String || r.kind == K::String)) {
    std::string text;
    append_plus_text(l, text);
    append_plus_text(r, text);
    return Value::string(std::move(text));
  }
  if (op == "+" && l.kind == K::Array && r.kind == K::Array) {
    Array a = *l.a;
    a.insert(a.end(), r.a->begin(), r.a->end());
    return Value::array(std::move(a));
  }
  bool li = l.kind == K::Int, ri = r.kind == K::Int;
  bool ln = li || l.kind == K::Float, rn = ri || r.kind == K::Float;
  if (!ln || !rn) fail("'" + op + "' of values that are not numbers");
  if (li && ri && op != "/") {
    std::int64_t x = l.i, y = r.i, z = 0;
    if (op == "+") { if (__builtin_add_overflow(x, y, &z)) fail("integer overflow"); return Value::integer(z); }
    if (op == "-") { if (__builtin_sub_overflow(x, y, &z)) fail("integer overflow"); return Value::integer(z); }
    if (op == "*") { if (__builtin_mul_overflow(x, y, &z)) fail("integer overflow"); return Value::integer(z); }
    if (y == 0) fail("division by zero");
    if (op == "%") return Value::integer(((x % y) + y) % y);
    if (op == "//") { std::int64_t q = x / y; if ((x % y != 0) && ((x < 0) != (y < 0))) --q; return Value::integer(q); }
  }
  fail("unsupported arithmetic '" + op + "'");
}

Value Renderer::eval(const Expr& e) {
  step();
  switch (e.kind) {
    case Expr::Kind::Literal: return e.literal;
    case Expr::Kind::Name: return lookup(e.name);
    case Expr::Kind::Attr: return attribute(eval(*e.args[0]), e.name);
    case Expr::Kind::Index: { Value o = eval(*e.args[0]); return index(o, eval(*e.args[1])); }
    case Expr::Kind::Slice: return slice(eval(*e.args[0]), e.args[1].get(), e.args[2].get(), e.args[3].get());
    case Expr::Kind::Call: return call(e);
    case Expr::Kind::Filter: return filter(e);
    case Expr::Kind::Test: return test(e);
    case Expr::Kind::Not: return Value::boolean(!truthy(eval(*e.args[0])));
    case Expr::Kind::Neg: {
      Value v = eval(*e.args[0]);
      if (v.kind == Value::Kind::Int) return Value::integer(-v.i);
      if (v.kind == Value::Kind::Float) return Value::number(-v.f);
      fail("negation of a non-number");
    }
    case Expr::Kind::Ternary:
      return truthy(eval(*e.args[0])) ? eval(*e.args[1]) : eval(*e.args[2]);
    case Expr::Kind::List: {
      Array a;
      for (auto& x : e.args) a.push_back(eval(*x));
      return Value::array(std::move(a));
    }
    case Expr::Kind::Dict: {
      Value o = Value::object();
      for (std::size_t k = 0; k + 1 < e.args.size(); k += 2) {
        Value key = eval(*e.args[k]);
        if (key.kind != Value::Kind::String) fail("dict key is not a string");
        o.put(key.s, eval(*e.args[k + 1]));
      }
      return o;
    }
    case Expr::Kind::Binary: break;
  }
  const std::string& op = e.name;
  if (op == "and") {
    Value l = eval(*e.args[0]);
    return truthy(l) ? eval(*e.args[1]) : l;
  }
  if (op == "or") {
    Value l = eval(*e.args[0]);
    return truthy(l) ? l : eval(*e.args[1]);
  }
  Value l = eval(*e.args[0]);
  Value r = eval(*e.args[1]);
  if (op == "==") return Value::boolean(equal(l, r));
  if (op == "!=") return Value::boolean(!equal(l, r));
  if (op == "in" || op == "not in") {
    bool found = false;
    if (r.kind == Value::Kind::String) {
      if (l.kind != Value::Kind::String) fail("'in' of a non-string in a string");
      found = r.s.find(l.s) != std::string::npos;
    } else if (r.kind == Value::Kind::Array) {
      for (const Value& x : *r.a) if (equal(x, l)) { found = true; break; }
    } else if (r.kind == Value::Kind::Object) {
      found = l.kind == Value::Kind::String && r.find(l.s) != nullptr;
    } else {
      fail("'in' of a value that is not a container");
    }
    return Value::boolean(op == "in" ? found : !found);
  }
  if (op == "<" || op == ">" || op == "<=" || op == ">=") {
    int c;
    if (l.kind == Value::Kind::String && r.kind == Value::Kind::String) {
      c = l.s.compare(r.s);
    } else if ((l.kind == Value::Kind::Int || l.kind == Value::Kind::Float) &&
               (r.kind == Value::Kind::Int || r.kind == Value::Kind::Float)) {
      double x = l.kind == Value::Kind::Int ? static_cast<double>(l.i) : l.f;
      double y = r.kind == Value::Kind::Int ? static_cast<double>(r.i) : r.f;
      c = x < y ? -1 : (x > y ? 1 : 0);
    } else {
      fail("comparison of values of different kinds");
    }
    if (op == "<") return Value::boolean(c < 0);
    if (op == ">") return Value::boolean(c > 0);
    if (op == "<=") return Value::boolean(c <= 0);
    return Value::boolean(c >= 0);
  }
  return arithmetic(op, l, r);
}

}  // namespace ringgate::tokenize::jinja
