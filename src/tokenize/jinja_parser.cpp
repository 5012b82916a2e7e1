#include "jinja_parser.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>

#include "jinja_error.h"

namespace ringgate::tokenize::jinja {

Parser::Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

Body Parser::parse_all() {
  Body body = parse_body({});
  if (peek().type != Tok::End) fail("unexpected tag");
  return body;
}

const Token& Parser::peek(std::size_t ahead) const { return t_[std::min(i_ + ahead, t_.size() - 1)]; }

Token Parser::next() { return t_[std::min(i_++, t_.size() - 1)]; }

bool Parser::is_punct(std::string_view p, std::size_t ahead) const {
  return peek(ahead).type == Tok::Punct && peek(ahead).text == p;
}

bool Parser::is_name(std::string_view n, std::size_t ahead) const {
  return peek(ahead).type == Tok::Name && peek(ahead).text == n;
}

void Parser::expect_punct(std::string_view p) {
  if (!is_punct(p)) fail("expected '" + std::string(p) + "'");
  ++i_;
}

void Parser::expect(Tok type) {
  if (peek().type != type) fail("unexpected token '" + peek().text + "'");
  ++i_;
}

std::string Parser::expect_name() {
  if (peek().type != Tok::Name) fail("expected a name");
  return next().text;
}

Body Parser::parse_body(std::initializer_list<std::string_view> stops) {
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

std::unique_ptr<Stmt> Parser::parse_if() {
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

std::unique_ptr<Stmt> Parser::parse_for() {
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

std::unique_ptr<Stmt> Parser::parse_set() {
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

ExprPtr Parser::make(Expr::Kind kind) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  return e;
}

ExprPtr Parser::expression() {
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

ExprPtr Parser::ternary_free_expression() { return or_expr(); }

ExprPtr Parser::binary(ExprPtr l, std::string op, ExprPtr r) {
  auto e = make(Expr::Kind::Binary);
  e->name = std::move(op);
  e->args.push_back(std::move(l));
  e->args.push_back(std::move(r));
  return e;
}

ExprPtr Parser::or_expr() {
  ExprPtr l = and_expr();
  while (is_name("or")) {
    ++i_;
    l = binary(std::move(l), "or", and_expr());
  }
  return l;
}

ExprPtr Parser::and_expr() {
  ExprPtr l = not_expr();
  while (is_name("and")) {
    ++i_;
    l = binary(std::move(l), "and", not_expr());
  }
  return l;
}

ExprPtr Parser::not_expr() {
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

ExprPtr Parser::comparison() {
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

ExprPtr Parser::additive() {
  ExprPtr l = multiplicative();
  while (is_punct("+") || is_punct("-") || is_punct("~")) {
    std::string op = next().text;
    l = binary(std::move(l), op, multiplicative());
  }
  return l;
}

ExprPtr Parser::multiplicative() {
  ExprPtr l = unary();
  while (is_punct("*") || is_punct("/") || is_punct("%") || is_punct("//")) {
    std::string op = next().text;
    l = binary(std::move(l), op, unary());
  }
  return l;
}

ExprPtr Parser::unary() {
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

void Parser::call_args(Expr& call) {
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

ExprPtr Parser::postfix(ExprPtr e) {
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

ExprPtr Parser::primary() {
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

}  // namespace ringgate::tokenize::jinja
