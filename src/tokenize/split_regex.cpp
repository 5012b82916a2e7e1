#define PCRE2_CODE_UNIT_WIDTH 8
#include "ringgate/tokenize/split_regex.h"

#include <pcre2.h>

#include "ringgate/tokenize/utf8.h"

namespace ringgate::tokenize {

namespace {

// Unicode White_Space, what Oniguruma's `\s` means (PCRE2's own `\s` differs on U+0085).
constexpr std::string_view kWhiteSpaceChars =
    "\\x{9}-\\x{d}\\x{20}\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}"
    "\\x{202f}\\x{205f}\\x{3000}";

// A regex of pathological backtracking on hostile text stops here instead of
// spinning: counted in backtracking steps of one match attempt.
constexpr std::uint32_t kMatchLimit = 10'000'000;

bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

char other_case(char c) { return c >= 'a' ? static_cast<char>(c - 32) : static_cast<char>(c + 32); }

// Per-thread PCRE2 state: one match data (group 0 only), a match context with the
// limit, and a JIT stack, so that matching allocates nothing.
struct MatchScratch {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  MatchScratch() {
    data = pcre2_match_data_create(1, nullptr);
    context = pcre2_match_context_create(nullptr);
    pcre2_set_match_limit(context, kMatchLimit);
    jit_stack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, nullptr);
    pcre2_jit_stack_assign(context, nullptr, jit_stack);
  }
  ~MatchScratch() {
    pcre2_jit_stack_free(jit_stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
  MatchScratch(const MatchScratch&) = delete;
  MatchScratch& operator=(const MatchScratch&) = delete;
};

MatchScratch& match_scratch() {
  thread_local MatchScratch scratch;
  return scratch;
}

}  // namespace

util::Result<std::string> onig_to_pcre2(std::string_view p) {
  std::string out;
  out.reserve(p.size() * 2);
  int fold_depth = 0;              // inside (?i: … ) when > 0
  std::vector<bool> group_folds;   // per open group: does it start a fold?
  bool in_class = false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\') {
      if (i + 1 >= p.size()) return util::Error{"regex ends with a backslash"};
      char n = p[i + 1];
      ++i;
      if (n == 's') {
        if (in_class) {
          out += kWhiteSpaceChars;
        } else {
          out += '[';
          out += kWhiteSpaceChars;
          out += ']';
        }
      } else if (n == 'S') {
        if (in_class) return util::Error{"regex: \\S inside a class is not supported"};
        out += "[^";
        out += kWhiteSpaceChars;
        out += ']';
      } else if (n == 'w' || n == 'W' || n == 'b' || n == 'B' || n == 'd' || n == 'D' || n == 'h' ||
                 n == 'H') {
        return util::Error{std::string("regex: \\") + n + " is not supported"};
      } else {
        out += '\\';
        out += n;
      }
      continue;
    }
    if (in_class) {
      if (c == '[') return util::Error{"regex: nested classes are not supported"};
      if (c == ']') in_class = false;
      if (fold_depth > 0 && is_ascii_letter(c)) {
        return util::Error{"regex: a class inside (?i:...) is not supported"};
      }
      out += c;
      continue;
    }
    switch (c) {
      case '[':
        in_class = true;
        out += c;
        // A leading ']' or '^]' is a literal; copy it so it does not close the class.
        if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
        if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
        break;
      case '(':
        if (p.substr(i, 4) == "(?i:") {
          group_folds.push_back(true);
          ++fold_depth;
          out += "(?:";
          i += 3;
        } else {
          if (p.substr(i, 2) == "(?" && i + 2 < p.size() && p[i + 2] != ':' && p[i + 2] != '=' &&
              p[i + 2] != '!' && p[i + 2] != '<' && p[i + 2] != '>') {
            return util::Error{"regex: inline flags other than (?i:...) are not supported"};
          }
          group_folds.push_back(false);
          out += c;
        }
        break;
      case ')':
        if (group_folds.empty()) return util::Error{"regex: unbalanced ')'"};
        if (group_folds.back()) --fold_depth;
        group_folds.pop_back();
        out += c;
        break;
      default:
        if (fold_depth > 0 && is_ascii_letter(c)) {
          out += '[';
          out += c;
          out += other_case(c);
          out += ']';
        } else {
          out += c;
        }
    }
  }
  if (in_class || !group_folds.empty()) return util::Error{"regex: unterminated class or group"};
  return out;
}

struct SplitRegex::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

util::Result<SplitRegex> SplitRegex::compile(std::string_view pattern, bool literal) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  std::uint32_t options = PCRE2_UTF | PCRE2_NO_UTF_CHECK | (literal ? PCRE2_LITERAL : 0);
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   options, &error, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    return util::Error{"regex: " + std::string(reinterpret_cast<char*>(message)) + " at offset " +
                       std::to_string(offset)};
  }
  // JIT is an optimisation: where it is unavailable the interpreter gives the same answers.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  auto owned = std::make_shared<Code>();
  owned->code = code;
  SplitRegex r;
  r.code_ = std::move(owned);
  return r;
}

util::Result<void> SplitRegex::split(std::string_view text, Span span, SplitMode mode,
                                     std::vector<Span>& out) const {
  MatchScratch& scratch = match_scratch();
  // The subject is the piece alone, as the reference splits each piece as its own
  // string: `(?!\S)` sees the piece's end and nothing looks behind its start.
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data() + span.begin);
  std::size_t size = span.size;
  std::size_t pos = 0;
  std::size_t last = 0;  // end of the previous match
  auto emit = [&](std::size_t b, std::size_t e) {
    if (e > b) {
      out.push_back(Span{static_cast<std::uint32_t>(span.begin + b), static_cast<std::uint32_t>(e - b)});
    }
  };
  while (pos < size) {
    int rc = pcre2_match(code_->code, subject, size, pos, PCRE2_NO_UTF_CHECK, scratch.data,
                         scratch.context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof message);
      return util::Error{"regex match: " + std::string(reinterpret_cast<char*>(message))};
    }
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(scratch.data);
    std::size_t mb = ov[0];
    std::size_t me = ov[1];
    if (mode != SplitMode::Matches) emit(last, mb);
    if (mode != SplitMode::Removed) emit(mb, me);
    last = me;
    if (me == mb) {
      // An empty match: step over one character, as String.prototype.matchAll does.
      std::size_t n = utf8_sequence_length(text.substr(span.begin + me, size - me));
      pos = me + (n == 0 ? 1 : n);
    } else {
      pos = me;
    }
  }
  if (mode != SplitMode::Matches) emit(last, size);
  return {};
}

}  // namespace ringgate::tokenize
