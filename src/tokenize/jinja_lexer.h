#pragma once
// Private (chat templates): a template's source as tokens, after the reference's
// whitespace control (lstrip_blocks, trim_blocks, `-`).
#include <string>
#include <string_view>
#include <vector>

namespace ringgate::tokenize::jinja {

enum class Tok { Text, OpenStmt, CloseStmt, OpenExpr, CloseExpr, Name, String, Int, Float, Punct, End };

struct Token {
  Tok type;
  std::string text;
};

std::vector<Token> lex(std::string_view source);

}  // namespace ringgate::tokenize::jinja
