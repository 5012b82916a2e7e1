#pragma once
// A Hugging Face tokenizer (tokenizer.json) in C++: the pipeline the reference runs —
// added/special tokens, normalizer, pre-tokenizer (Split regexes via PCRE2, ByteLevel),
// BPE model, post-processor — for the models ringgate routes precisely (Llama 3.x,
// Qwen3, Gemma 3, DeepSeek V3). Token ids equal the reference's.
//
// A Tokenizer is immutable once loaded and cheap to copy (shared); encode() may run
// on every worker thread at once (its scratch is per thread).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/util/result.h"

namespace ringgate::tokenize {

// Bounds on what a tokenizer.json may hold: it may come from a hostile volume.
inline constexpr std::size_t kMaxTokenizerJsonBytes = 256u << 20;
inline constexpr std::size_t kMaxVocab = 4u << 20;
inline constexpr std::size_t kMaxMerges = 4u << 20;
inline constexpr std::size_t kMaxAddedTokens = 1u << 20;
inline constexpr std::size_t kMaxTokenBytes = 4096;

class Tokenizer {
 public:
  // Reads dir/tokenizer.json.
  static util::Result<Tokenizer> load(const std::string& dir);
  // Parses the text of a tokenizer.json.
  static util::Result<Tokenizer> from_json(std::string_view tokenizer_json);

  // Appends the ids of text to ids (which it does not clear). add_special adds what
  // the post-processor adds (Llama's and Gemma's BOS). Text that is not UTF-8 is read
  // with each bad sequence as U+FFFD, as the reference reads bytes. Fails only when a
  // pre-tokenizer regex hits its backtracking limit.
  util::Result<void> encode(std::string_view text, bool add_special, std::vector<std::int32_t>& ids) const;

  // The id of a token as spelled in the vocabulary or as an added token; -1 if none.
  std::int32_t token_id(std::string_view token) const;
  std::size_t vocab_size() const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace ringgate::tokenize
