#include "ringgate/openai/first_token_scanner.h"

#include <array>
#include <cstring>

namespace ringgate::openai {
namespace {

// Keys whose string value is generated text (chat delta, completion text, reasoning
// models' thinking, tool-call arguments).
constexpr std::array<std::string_view, 4> kKeys = {"\"content\"", "\"text\"", "\"reasoning_content\"",
                                                   "\"arguments\""};

enum class Value { Token, NotToken, Incomplete };

// What follows a key at `pos`: `: "x...` is a token, `: ""` / `: null` / anything else is
// not; running out of bytes first means the next chunk decides (the carried tail re-reads it).
Value value_after(std::string_view text, size_t pos) {
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
  if (pos == text.size()) return Value::Incomplete;
  if (text[pos] != ':') return Value::NotToken;  // a value that happens to read "content"
  ++pos;
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
  if (pos == text.size()) return Value::Incomplete;
  if (text[pos] != '"') return Value::NotToken;  // null, a number, an object
  ++pos;
  if (pos == text.size()) return Value::Incomplete;
  return text[pos] == '"' ? Value::NotToken : Value::Token;
}

}  // namespace

// One pass over the quotes, ended by the first token: a key-by-key find() walked a whole
// read once per key (a bulk stream's first read can be all of it) to find one token.
bool FirstTokenScanner::scan(std::string_view text) {
  const char* const begin = text.data();
  const char* const end = begin + text.size();
  for (const char* q = begin; q + 1 < end; ++q) {
    q = static_cast<const char*>(std::memchr(q, '"', size_t(end - q - 1)));
    if (q == nullptr) break;
    const std::string_view rest(q, size_t(end - q));
    for (std::string_view key : kKeys) {
      if (q[1] != key[1] || !rest.starts_with(key)) continue;
      if (value_after(text, size_t(q - begin) + key.size()) == Value::Token) return true;
      break;
    }
  }
  return false;
}

bool FirstTokenScanner::feed(std::string_view data) {
  if (seen_ || data.empty()) return false;
  if (!streaming_) return seen_ = true;
  bool found = false;
  if (carry_len_ > 0) {
    // A key (or its value's first byte) split between the carried tail and this chunk.
    char seam[sizeof carry_ * 2];
    const size_t take = data.size() < sizeof carry_ ? data.size() : sizeof carry_;
    std::memcpy(seam, carry_, carry_len_);
    std::memcpy(seam + carry_len_, data.data(), take);
    found = scan(std::string_view(seam, carry_len_ + take));
  }
  if (!found) found = scan(data);
  if (found) return seen_ = true;
  const size_t keep = data.size() < sizeof carry_ ? data.size() : sizeof carry_;
  if (keep < sizeof carry_ && carry_len_ > 0) {
    const size_t old_keep = carry_len_ + keep > sizeof carry_ ? sizeof carry_ - keep : carry_len_;
    std::memmove(carry_, carry_ + carry_len_ - old_keep, old_keep);
    std::memcpy(carry_ + old_keep, data.data(), keep);
    carry_len_ = old_keep + keep;
  } else {
    std::memcpy(carry_, data.data() + data.size() - keep, keep);
    carry_len_ = keep;
  }
  return false;
}

}  // namespace ringgate::openai
