#pragma once
// The normalizers of a tokenizer.json that the supported models use: NFC (Qwen),
// Replace of a literal string (Gemma: ' ' → '▁'), Prepend, and Sequence of these.
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/util/result.h"

namespace ringgate::tokenize {

class Normalizer {
 public:
  enum class Kind { Nfc, Replace, Prepend };
  struct Step {
    Kind kind;
    std::string pattern;  // Replace: the literal to find
    std::string content;  // Replace: its replacement; Prepend: the prefix
  };

  void add(Step step) { steps_.push_back(std::move(step)); }
  // Whether the tokenizer.json has a normalizer at all (even an empty Sequence):
  // the reference then keys normalized added tokens by their normalized form.
  void set_present(bool present) { present_ = present; }
  bool present() const { return present_; }
  bool identity() const { return steps_.empty(); }

  // out = normalized text; scratch is reused between steps.
  util::Result<void> apply(std::string_view text, std::string& out, std::string& scratch) const;

 private:
  std::vector<Step> steps_;
  bool present_ = false;
};

}  // namespace ringgate::tokenize
