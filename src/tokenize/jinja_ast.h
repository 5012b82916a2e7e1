#pragma once
// Private (chat templates): a parsed template, the parser's output and the renderer's input.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jinja_value.h"

namespace ringgate::tokenize::jinja {

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

}  // namespace ringgate::tokenize::jinja
