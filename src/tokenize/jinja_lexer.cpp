#include "jinja_lexer.h"

#include <cctype>

#include "jinja_error.h"

namespace ringgate::tokenize::jinja {

namespace {

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

}  // namespace

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

}  // namespace ringgate::tokenize::jinja
