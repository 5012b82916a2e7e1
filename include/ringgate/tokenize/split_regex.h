#pragma once
// A tokenizer.json `Split` pattern compiled with PCRE2 (JIT). Hugging Face writes
// these patterns for Oniguruma; the reference tokenizer rewrites them so that
// `\s` is Unicode White_Space and `(?i:…)` folds ASCII letters only. The same
// rewrite is done here (onig_to_pcre2) so that both engines split alike.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/util/result.h"

namespace ringgate::tokenize {

// A piece of a text: [begin, begin + size).
struct Span {
  std::uint32_t begin = 0;
  std::uint32_t size = 0;
};

// The pattern with Oniguruma's meanings spelled for PCRE2; an error for syntax
// this rewrite does not know (the caller then cannot load the tokenizer).
util::Result<std::string> onig_to_pcre2(std::string_view pattern);

enum class SplitMode {
  Isolated,  // pieces between matches and the matches themselves
  Removed,   // only the pieces between matches
  Matches,   // only the matches (`invert: true`)
};

class SplitRegex {
 public:
  // pcre2_pattern is already in PCRE2 syntax; literal = match the text as is.
  static util::Result<SplitRegex> compile(std::string_view pcre2_pattern, bool literal = false);

  // Appends the pieces of text[span] to out (offsets stay relative to text).
  // Fails only when PCRE2 gives up (its match limit: hostile input).
  util::Result<void> split(std::string_view text, Span span, SplitMode mode,
                           std::vector<Span>& out) const;

 private:
  struct Code;
  std::shared_ptr<const Code> code_;
};

}  // namespace ringgate::tokenize
