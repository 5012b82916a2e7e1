#include "ringgate/tokenize/chat_template.h"

#include <simdjson.h>

#include <charconv>
#include <cstdint>
#include <fstream>
#include <map>
#include <unordered_map>
#include <utility>

#include "ringgate/util/json_text.h"

namespace ringgate::tokenize {

namespace {

using util::Error;

// Internal to rendering: unwinds a template that fails (raise_exception, a type
// error, a bound) to the API boundary, where it becomes an Error value.
struct TemplateError {
  std::string message;
};

[[noreturn]] void fail(std::string message) { throw TemplateError{std::move(message)}; }

// ---------------------------------------------------------------- values

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

void to_json(const Value& v, std::string& out, int depth = 0) {
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

Value from_json(simdjson::dom::element e, int depth = 0) {
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

// ---------------------------------------------------------------- lexer

enum class Tok { Text, OpenStmt, CloseStmt, OpenExpr, CloseExpr, Name, String, Int, Float, Punct, End };

struct Token {
  Tok type;
  std::string text;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// The reference's preprocess: one final newline dropped, lstrip_blocks, trim_blocks.
std::string preprocess(std::string_view in) {
  std::string t(in);
  if (!t.empty() && t.back() == '\n') t.pop_back();
  std::string a;
  a.reserve(t.size());
  std::size_t i = 0;
  while (i < t.size()) {
    if (i == 0 || t[i - 1] == '\n') {
      std::size_t j = i;
      while (j < t.size() && (t[j] == ' ' || t[j] == '\t')) ++j;
      if (j > i && j + 1 < t.size() && t[j] == '{' && (t[j + 1] == '#' || t[j + 1] == '%' || t[j + 1] == '-')) {
        i = j;
      }
    }
    a.push_back(t[i++]);
  }
  std::string b;
  b.reserve(a.size());
  for (std::size_t k = 0; k < a.size(); ++k) {
    b.push_back(a[k]);
    if (a[k] == '}' && k > 0 && (a[k - 1] == '#' || a[k - 1] == '%' || a[k - 1] == '-') && k + 1 < a.size() &&
        a[k + 1] == '\n') {
      ++k;
    }
  }
  return b;
}

std::vector<Token> lex(std::string_view source) {
  std::string src = preprocess(source);
  std::vector<Token> tokens;
  std::size_t p = 0;
  auto strip_trailing = [&] {
    if (!tokens.empty() && tokens.back().type == Tok::Text) {
      auto& s = tokens.back().text;
      while (!s.empty() && is_space(s.back())) s.pop_back();
      if (s.empty()) tokens.pop_back();
    }
  };
  auto skip_leading = [&] { while (p < src.size() && is_space(src[p])) ++p; };
  bool in_tag = false;
  Tok closer = Tok::End;
  while (p < src.size()) {
    if (!in_tag) {
      std::size_t start = p;
      while (p < src.size() && !(src[p] == '{' && p + 1 < src.size() && (src[p + 1] == '%' || src[p + 1] == '{' || src[p + 1] == '#'))) ++p;
      if (p > start) tokens.push_back({Tok::Text, src.substr(start, p - start)});
      if (p >= src.size()) break;
      char kind = src[p + 1];
      p += 2;
      bool strip = p < src.size() && src[p] == '-';
      if (strip) {
        ++p;
        strip_trailing();
      }
      if (kind == '#') {
        std::size_t end = src.find("#}", p);
        if (end == std::string::npos) fail("unterminated comment");
        bool strip_after = end > p && src[end - 1] == '-';
        p = end + 2;
        if (strip_after) skip_leading();
        continue;
      }
      tokens.push_back({kind == '%' ? Tok::OpenStmt : Tok::OpenExpr, {}});
      closer = kind == '%' ? Tok::CloseStmt : Tok::CloseExpr;
      in_tag = true;
      continue;
    }
    char c = src[p];
    if (is_space(c)) { ++p; continue; }
    char close_char = closer == Tok::CloseStmt ? '%' : '}';
    if (c == '-' && p + 2 < src.size() + 0 && src[p + 1] == close_char && src[p + 2] == '}') {
      tokens.push_back({closer, {}});
      p += 3;
      in_tag = false;
      skip_leading();
      continue;
    }
    if (c == close_char && p + 1 < src.size() && src[p + 1] == '}') {
      tokens.push_back({closer, {}});
      p += 2;
      in_tag = false;
      continue;
    }
    if (c == '\'' || c == '"') {
      char quote = c;
      ++p;
      std::string s;
      while (true) {
        if (p >= src.size()) fail("unterminated string");
        char d = src[p++];
        if (d == quote) break;
        if (d == '\\') {
          if (p >= src.size()) fail("unterminated string");
          char e = src[p++];
          switch (e) {
            case 'n': s.push_back('\n'); break;
            case 't': s.push_back('\t'); break;
            case 'r': s.push_back('\r'); break;
            case 'b': s.push_back('\b'); break;
            case 'f': s.push_back('\f'); break;
            case 'v': s.push_back('\v'); break;
            case '\'': case '"': case '\\': s.push_back(e); break;
            default: fail(std::string("unsupported escape \\") + e);
          }
          continue;
        }
        s.push_back(d);
      }
      tokens.push_back({Tok::String, std::move(s)});
      continue;
    }
    if (c >= '0' && c <= '9') {
      std::size_t start = p;
      while (p < src.size() && src[p] >= '0' && src[p] <= '9') ++p;
      bool is_float = false;
      if (p + 1 < src.size() && src[p] == '.' && src[p + 1] >= '0' && src[p + 1] <= '9') {
        is_float = true;
        ++p;
        while (p < src.size() && src[p] >= '0' && src[p] <= '9') ++p;
      }
      tokens.push_back({is_float ? Tok::Float : Tok::Int, src.substr(start, p - start)});
      continue;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t start = p;
      while (p < src.size() && (std::isalnum(static_cast<unsigned char>(src[p])) || src[p] == '_')) ++p;
      tokens.push_back({Tok::Name, src.substr(start, p - start)});
      continue;
    }
    static const char* two[] = {"==", "!=", "<=", ">=", "//", "**"};
    bool matched = false;
    for (const char* op : two) {
      if (src.compare(p, 2, op) == 0) {
        tokens.push_back({Tok::Punct, op});
        p += 2;
        matched = true;
        break;
      }
    }
    if (matched) continue;
    if (std::string_view("+-*/%()[]{}.,:|<>=~").find(c) != std::string_view::npos) {
      tokens.push_back({Tok::Punct, std::string(1, c)});
      ++p;
      continue;
    }
    fail(std::string("unexpected character '") + c + "'");
  }
  if (in_tag) fail("unterminated tag");
  tokens.push_back({Tok::End, {}});
  return tokens;
}

// ---------------------------------------------------------------- AST

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind { Literal, Name, Attr, Index, Slice, Call, Filter, Test, Not, Neg, Binary, Ternary, List, Dict };
  Kind kind;
  Value literal;
  std::string name;  // Name, Attr, Filter/Test name, Binary op
  bool negated = false;
  std::vector<ExprPtr> args;  // operands / call args / list items / dict k,v pairs
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
};

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

struct Stmt {
  enum class Kind { Text, Output, If, For, Set };
  Kind kind;
  std::string text;
  ExprPtr expr;                       // Output value, If condition, For iterable, Set value
  std::vector<std::string> targets;   // For: loop variables; Set: name [, attribute]
  Body body;
  Body else_body;
};

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  Body parse_all() {
    Body body = parse_body({});
    if (peek().type != Tok::End) fail("unexpected tag");
    return body;
  }

 private:
  const Token& peek(std::size_t ahead = 0) const { return t_[std::min(i_ + ahead, t_.size() - 1)]; }
  Token next() { return t_[std::min(i_++, t_.size() - 1)]; }
  bool is_punct(std::string_view p, std::size_t ahead = 0) const {
    return peek(ahead).type == Tok::Punct && peek(ahead).text == p;
  }
  bool is_name(std::string_view n, std::size_t ahead = 0) const {
    return peek(ahead).type == Tok::Name && peek(ahead).text == n;
  }
  void expect_punct(std::string_view p) {
    if (!is_punct(p)) fail("expected '" + std::string(p) + "'");
    ++i_;
  }
  void expect(Tok type) {
    if (peek().type != type) fail("unexpected token '" + peek().text + "'");
    ++i_;
  }
  std::string expect_name() {
    if (peek().type != Tok::Name) fail("expected a name");
    return next().text;
  }

  // Statements until one of the given keywords opens a tag (left unconsumed).
  Body parse_body(std::initializer_list<std::string_view> stops) {
    if (++depth_ > 64) fail("template nested too deep");
    Body body;
    while (true) {
      const Token& tok = peek();
      if (tok.type == Tok::End) break;
      if (tok.type == Tok::Text) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::Text;
        s->text = next().text;
        body.push_back(std::move(s));
        continue;
      }
      if (tok.type == Tok::OpenExpr) {
        ++i_;
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::Output;
        s->expr = expression();
        expect(Tok::CloseExpr);
        body.push_back(std::move(s));
        continue;
      }
      if (tok.type != Tok::OpenStmt) fail("unexpected token");
      const Token& kw = peek(1);
      if (kw.type != Tok::Name) fail("expected a statement keyword");
      bool stop = false;
      for (auto s : stops) if (kw.text == s) stop = true;
      if (stop) break;
      ++i_;
      std::string keyword = next().text;
      if (keyword == "if") {
        body.push_back(parse_if());
      } else if (keyword == "for") {
        body.push_back(parse_for());
      } else if (keyword == "set") {
        body.push_back(parse_set());
      } else {
        fail("unsupported statement '" + keyword + "'");
      }
    }
    --depth_;
    return body;
  }

  std::unique_ptr<Stmt> parse_if() {
    auto s = std::make_unique<Stmt>();
    s->kind = Stmt::Kind::If;
    s->expr = expression();
    expect(Tok::CloseStmt);
    s->body = parse_body({"elif", "else", "endif"});
    expect(Tok::OpenStmt);
    std::string kw = expect_name();
    if (kw == "elif") {
      s->else_body.push_back(parse_if());
      return s;  // the nested if consumed endif
    }
    if (kw == "else") {
      expect(Tok::CloseStmt);
      s->else_body = parse_body({"endif"});
      expect(Tok::OpenStmt);
      kw = expect_name();
    }
    if (kw != "endif") fail("expected endif");
    expect(Tok::CloseStmt);
    return s;
  }

  std::unique_ptr<Stmt> parse_for() {
    auto s = std::make_unique<Stmt>();
    s->kind = Stmt::Kind::For;
    s->targets.push_back(expect_name());
    while (is_punct(",")) {
      ++i_;
      s->targets.push_back(expect_name());
    }
    if (!is_name("in")) fail("expected 'in'");
    ++i_;
    s->expr = ternary_free_expression();
    if (is_name("if")) fail("for ... if is not supported");
    expect(Tok::CloseStmt);
    s->body = parse_body({"else", "endfor"});
    expect(Tok::OpenStmt);
    std::string kw = expect_name();
    if (kw == "else") {
      expect(Tok::CloseStmt);
      s->else_body = parse_body({"endfor"});
      expect(Tok::OpenStmt);
      kw = expect_name();
    }
    if (kw != "endfor") fail("expected endfor");
    expect(Tok::CloseStmt);
    return s;
  }

  std::unique_ptr<Stmt> parse_set() {
    auto s = std::make_unique<Stmt>();
    s->kind = Stmt::Kind::Set;
    s->targets.push_back(expect_name());
    if (is_punct(".")) {
      ++i_;
      s->targets.push_back(expect_name());
    }
    if (!is_punct("=")) fail("{% set %} blocks are not supported");
    ++i_;
    s->expr = expression();
    expect(Tok::CloseStmt);
    return s;
  }

  static ExprPtr make(Expr::Kind kind) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    return e;
  }

  ExprPtr expression() {
    if (++depth_ > 128) fail("expression nested too deep");
    ExprPtr e = or_expr();
    if (is_name("if")) {
      ++i_;
      ExprPtr cond = or_expr();
      ExprPtr otherwise;
      if (is_name("else")) {
        ++i_;
        otherwise = expression();
      } else {
        otherwise = make(Expr::Kind::Literal);
      }
      auto t = make(Expr::Kind::Ternary);
      t->args.push_back(std::move(cond));
      t->args.push_back(std::move(e));
      t->args.push_back(std::move(otherwise));
      e = std::move(t);
    }
    --depth_;
    return e;
  }
  ExprPtr ternary_free_expression() { return or_expr(); }

  ExprPtr binary(ExprPtr l, std::string op, ExprPtr r) {
    auto e = make(Expr::Kind::Binary);
    e->name = std::move(op);
    e->args.push_back(std::move(l));
    e->args.push_back(std::move(r));
    return e;
  }

  ExprPtr or_expr() {
    ExprPtr l = and_expr();
    while (is_name("or")) {
      ++i_;
      l = binary(std::move(l), "or", and_expr());
    }
    return l;
  }
  ExprPtr and_expr() {
    ExprPtr l = not_expr();
    while (is_name("and")) {
      ++i_;
      l = binary(std::move(l), "and", not_expr());
    }
    return l;
  }
  ExprPtr not_expr() {
    if (is_name("not")) {
      ++i_;
      if (++depth_ > 128) fail("expression nested too deep");
      auto e = make(Expr::Kind::Not);
      e->args.push_back(not_expr());
      --depth_;
      return e;
    }
    return comparison();
  }
  ExprPtr comparison() {
    ExprPtr l = additive();
    while (true) {
      if (peek().type == Tok::Punct &&
          (peek().text == "==" || peek().text == "!=" || peek().text == "<" || peek().text == ">" ||
           peek().text == "<=" || peek().text == ">=")) {
        std::string op = next().text;
        l = binary(std::move(l), op, additive());
      } else if (is_name("in")) {
        ++i_;
        l = binary(std::move(l), "in", additive());
      } else if (is_name("not") && is_name("in", 1)) {
        i_ += 2;
        l = binary(std::move(l), "not in", additive());
      } else if (is_name("is")) {
        ++i_;
        auto t = make(Expr::Kind::Test);
        if (is_name("not")) {
          ++i_;
          t->negated = true;
        }
        t->name = expect_name();
        t->args.push_back(std::move(l));
        l = std::move(t);
      } else {
        return l;
      }
    }
  }
  ExprPtr additive() {
    ExprPtr l = multiplicative();
    while (is_punct("+") || is_punct("-") || is_punct("~")) {
      std::string op = next().text;
      l = binary(std::move(l), op, multiplicative());
    }
    return l;
  }
  ExprPtr multiplicative() {
    ExprPtr l = unary();
    while (is_punct("*") || is_punct("/") || is_punct("%") || is_punct("//")) {
      std::string op = next().text;
      l = binary(std::move(l), op, unary());
    }
    return l;
  }
  ExprPtr unary() {
    if (is_punct("-")) {
      ++i_;
      if (++depth_ > 128) fail("expression nested too deep");
      auto e = make(Expr::Kind::Neg);
      e->args.push_back(unary());
      --depth_;
      return e;
    }
    return postfix(primary());
  }

  void call_args(Expr& call) {
    expect_punct("(");
    while (!is_punct(")")) {
      if (peek().type == Tok::Name && is_punct("=", 1)) {
        std::string key = next().text;
        ++i_;
        call.kwargs.emplace_back(key, expression());
      } else {
        call.args.push_back(expression());
      }
      if (!is_punct(",")) break;
      ++i_;
    }
    expect_punct(")");
  }

  ExprPtr postfix(ExprPtr e) {
    while (true) {
      if (is_punct(".")) {
        ++i_;
        auto a = make(Expr::Kind::Attr);
        a->name = expect_name();
        a->args.push_back(std::move(e));
        e = std::move(a);
      } else if (is_punct("[")) {
        ++i_;
        ExprPtr parts[3];
        int colons = 0;
        while (!is_punct("]")) {
          if (is_punct(":")) {
            ++i_;
            if (++colons > 2) fail("bad slice");
            continue;
          }
          if (parts[colons]) fail("bad subscript");
          parts[colons] = expression();
        }
        ++i_;
        if (colons == 0) {
          if (!parts[0]) fail("empty subscript");
          auto x = make(Expr::Kind::Index);
          x->args.push_back(std::move(e));
          x->args.push_back(std::move(parts[0]));
          e = std::move(x);
        } else {
          auto x = make(Expr::Kind::Slice);
          x->args.push_back(std::move(e));
          for (auto& part : parts) x->args.push_back(std::move(part));
          e = std::move(x);
        }
      } else if (is_punct("(")) {
        auto c = make(Expr::Kind::Call);
        c->args.push_back(std::move(e));
        call_args(*c);
        e = std::move(c);
      } else if (is_punct("|")) {
        ++i_;
        auto f = make(Expr::Kind::Filter);
        f->name = expect_name();
        f->args.push_back(std::move(e));
        if (is_punct("(")) call_args(*f);
        e = std::move(f);
      } else {
        return e;
      }
    }
  }

  ExprPtr primary() {
    Token tok = next();
    switch (tok.type) {
      case Tok::String: {
        auto e = make(Expr::Kind::Literal);
        e->literal = Value::string(tok.text);
        // Adjacent string literals concatenate.
        while (peek().type == Tok::String) e->literal.s += next().text;
        return e;
      }
      case Tok::Int: {
        auto e = make(Expr::Kind::Literal);
        std::int64_t v = 0;
        auto r = std::from_chars(tok.text.data(), tok.text.data() + tok.text.size(), v);
        if (r.ec != std::errc()) fail("integer out of range");
        e->literal = Value::integer(v);
        return e;
      }
      case Tok::Float: {
        auto e = make(Expr::Kind::Literal);
        e->literal = Value::number(std::strtod(tok.text.c_str(), nullptr));
        return e;
      }
      case Tok::Name: {
        auto e = make(Expr::Kind::Literal);
        if (tok.text == "true" || tok.text == "True") { e->literal = Value::boolean(true); return e; }
        if (tok.text == "false" || tok.text == "False") { e->literal = Value::boolean(false); return e; }
        if (tok.text == "none" || tok.text == "None") { e->literal = Value::none(); return e; }
        e->kind = Expr::Kind::Name;
        e->name = tok.text;
        return e;
      }
      case Tok::Punct:
        if (tok.text == "(") {
          ExprPtr e = expression();
          if (is_punct(",")) fail("tuples are not supported");
          expect_punct(")");
          return e;
        }
        if (tok.text == "[") {
          auto e = make(Expr::Kind::List);
          while (!is_punct("]")) {
            e->args.push_back(expression());
            if (!is_punct(",")) break;
            ++i_;
          }
          expect_punct("]");
          return e;
        }
        if (tok.text == "{") {
          auto e = make(Expr::Kind::Dict);
          while (!is_punct("}")) {
            e->args.push_back(expression());
            expect_punct(":");
            e->args.push_back(expression());
            if (!is_punct(",")) break;
            ++i_;
          }
          expect_punct("}");
          return e;
        }
        break;
      default:
        break;
    }
    fail("unexpected token '" + tok.text + "' in an expression");
  }

  std::vector<Token> t_;
  std::size_t i_ = 0;
  int depth_ = 0;
};

// ---------------------------------------------------------------- interpreter

class Renderer {
 public:
  explicit Renderer(std::string& out) : out_(out) { scopes_.emplace_back(); }

  void set_global(const std::string& name, Value v) { scopes_.front()[name] = std::move(v); }

  void run(const Body& body) {
    for (const auto& s : body) exec(*s);
  }

 private:
  void step() {
    if (++steps_ > kMaxRenderSteps) fail("template took too many steps");
  }

  Value lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto found = it->find(name);
      if (found != it->end()) return found->second;
    }
    return Value{};
  }

  void exec(const Stmt& s) {
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

  void exec_for(const Stmt& s) {
    Value iterable = eval(*s.expr);
    Array items;
    if (iterable.kind == Value::Kind::Array) {
      items = *iterable.a;
    } else if (iterable.kind == Value::Kind::Object) {
      for (auto& [k, v] : *iterable.o) items.push_back(Value::string(k));
    } else if (iterable.kind == Value::Kind::String) {
      fail("iterating a string is not supported");
    } else {
      fail("for over a value that is not iterable");
    }
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

  static std::int64_t as_int(const Value& v, const char* what) {
    if (v.kind == Value::Kind::Int) return v.i;
    if (v.kind == Value::Kind::Bool) return v.b ? 1 : 0;
    fail(std::string(what) + ": not an integer");
  }

  Value attribute(const Value& obj, const std::string& name) {
    if (obj.kind == Value::Kind::Object) {
      const Value* v = obj.find(name);
      return v != nullptr ? *v : Value{};
    }
    return Value{};
  }

  Value index(const Value& obj, const Value& key) {
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

  Value slice(const Value& obj, const Expr* a, const Expr* b, const Expr* c) {
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

  Value call_method(const Value& self, const std::string& name, const Expr& call) {
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

  Value call(const Expr& e) {
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

  Value filter(const Expr& e) {
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

  Value test(const Expr& e) {
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

  Value arithmetic(const std::string& op, const Value& l, const Value& r) {
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

  Value eval(const Expr& e) {
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

  std::string& out_;
  std::vector<std::unordered_map<std::string, Value>> scopes_;
  std::size_t steps_ = 0;
};

}  // namespace

struct ChatTemplate::Impl {
  Body body;
  std::string bos_token;
  std::string eos_token;

  util::Result<std::string> render(const Value& messages, bool add_generation_prompt) const {
    std::string out;
    try {
      Renderer r(out);
      r.set_global("messages", messages);
      r.set_global("add_generation_prompt", Value::boolean(add_generation_prompt));
      r.set_global("bos_token", Value::string(bos_token));
      r.set_global("eos_token", Value::string(eos_token));
      r.run(body);
    } catch (const TemplateError& e) {
      return Error{"chat template: " + e.message};
    } catch (const std::bad_alloc&) {
      return Error{"chat template: out of memory"};
    }
    return out;
  }
};

util::Result<ChatTemplate> ChatTemplate::parse(std::string_view source, std::string bos_token, std::string eos_token) {
  if (source.size() > kMaxTemplateBytes) return Error{"chat template larger than the bound"};
  auto impl = std::make_shared<Impl>();
  try {
    impl->body = Parser(lex(source)).parse_all();
  } catch (const TemplateError& e) {
    return Error{"chat template: " + e.message};
  }
  impl->bos_token = std::move(bos_token);
  impl->eos_token = std::move(eos_token);
  ChatTemplate t;
  t.impl_ = std::move(impl);
  return t;
}

util::Result<ChatTemplate> ChatTemplate::load(const std::string& dir) {
  std::string path = dir + "/tokenizer_config.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot open " + path};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > (64u << 20)) return Error{path + " is larger than the bound"};
  // On-demand: tokenizer_config.json files hold numbers beyond 64 bits
  // (model_max_length), which only a lazy parser can step over.
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(text);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return Error{path + " is not JSON"};
  std::string source;
  std::string bos_text, eos_text;
  simdjson::ondemand::object root;
  if (doc.get_object().get(root)) return Error{path + " is not a JSON object"};
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return Error{path + " is not JSON"};
    simdjson::ondemand::value value = field.value();
    if (key == "chat_template") {
      std::string_view single;
      simdjson::ondemand::array named;
      if (!value.get_string().get(single)) {
        source = std::string(single);
      } else if (!value.get_array().get(named)) {
        for (auto entry : named) {
          simdjson::ondemand::object o;
          if (entry.get_object().get(o)) continue;
          std::string_view name, tmpl;
          bool is_default = false;
          for (auto f : o) {
            std::string_view k;
            if (f.unescaped_key().get(k)) break;
            if (k == "name" && !f.value().get_string().get(name)) is_default = name == "default";
            else if (k == "template" && !f.value().get_string().get(tmpl)) {}
          }
          if (is_default) source = std::string(tmpl);
        }
      }
    } else if (key == "bos_token" || key == "eos_token") {
      std::string_view t;
      std::string& target = key == "bos_token" ? bos_text : eos_text;
      simdjson::ondemand::object o;
      if (!value.get_string().get(t)) {
        target = std::string(t);
      } else if (!value.get_object().get(o)) {
        for (auto f : o) {
          std::string_view k;
          if (!f.unescaped_key().get(k) && k == "content" && !f.value().get_string().get(t)) target = std::string(t);
        }
      }
    }
  }
  if (source.empty()) return Error{path + " has no chat_template"};
  return parse(source, std::move(bos_text), std::move(eos_text));
}

util::Result<std::string> ChatTemplate::render_json(std::string_view messages_json, bool add_generation_prompt) const {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(messages_json.data(), messages_json.size()).get(root)) return Error{"messages are not JSON"};
  if (root.type() != simdjson::dom::element_type::ARRAY) return Error{"messages are not a JSON array"};
  Value messages;
  try {
    messages = from_json(root);
  } catch (const TemplateError& e) {
    return Error{e.message};
  }
  return impl_->render(messages, add_generation_prompt);
}

util::Result<std::string> ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  Array list;
  for (const ChatMessage& m : messages) {
    list.push_back(Value::object({{"role", Value::string(m.role)}, {"content", Value::string(m.content)}}));
  }
  return impl_->render(Value::array(std::move(list)), add_generation_prompt);
}

}  // namespace ringgate::tokenize
