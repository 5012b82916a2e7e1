#pragma once
// Private (chat templates): tokens to statements and expressions (jinja_ast.h), the
// subset of Jinja's grammar the supported models' templates use.
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "jinja_ast.h"
#include "jinja_lexer.h"

namespace ringgate::tokenize::jinja {

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens);

  Body parse_all();

 private:
  const Token& peek(std::size_t ahead = 0) const;
  Token next();
  bool is_punct(std::string_view p, std::size_t ahead = 0) const;
  bool is_name(std::string_view n, std::size_t ahead = 0) const;
  void expect_punct(std::string_view p);
  void expect(Tok type);
  std::string expect_name();

  // Statements until one of the given keywords opens a tag (left unconsumed).
  Body parse_body(std::initializer_list<std::string_view> stops);
  std::unique_ptr<Stmt> parse_if();
  std::unique_ptr<Stmt> parse_for();
  std::unique_ptr<Stmt> parse_set();

  static ExprPtr make(Expr::Kind kind);
  ExprPtr expression();
  ExprPtr ternary_free_expression();
  ExprPtr binary(ExprPtr l, std::string op, ExprPtr r);
  ExprPtr or_expr();
  ExprPtr and_expr();
  ExprPtr not_expr();
  ExprPtr comparison();
  ExprPtr additive();
  ExprPtr multiplicative();
  ExprPtr unary();
  void call_args(Expr& call);
  ExprPtr postfix(ExprPtr e);
  ExprPtr primary();

  std::vector<Token> t_;
  std::size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace ringgate::tokenize::jinja
