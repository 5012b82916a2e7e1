#pragma once
// A request's prompt token ids as vLLM computes them from a model's Hugging Face
// tokenizer (tokenizer.json) and chat template (tokenizer_config.json), for precise
// prefix scoring. vLLM's two paths (protocol.py defaults):
//   completions: the prompt string encoded with add_special_tokens=True;
//   chat:        the messages rendered by the chat template with
//                add_generation_prompt=True, encoded with add_special_tokens=False
//                (the template writes BOS itself).
// Only the first max_prompt_bytes of the prompt text are tokenized (the exact index
// scores leading blocks; a 200 KB prompt would otherwise cost milliseconds). The cut
// is made, in the second half of the bound, where the tokenization of the prefix is a
// prefix of the whole's (after a newline that a non-space follows, else before
// " word"; failing both, at a character boundary), and the last kCutMarginTokens ids
// before a cut are dropped in case a model merges across it. The ids of the text tokenized (all of
// it, or up to the cut) are kept in a TokenCache: a request whose text there was seen
// before (the next turn of a conversation past the bound, a shared document) costs a
// lookup. A text that is not there and is longer than kProbeMinBytes is first tokenized
// only up to a cut at kProbeBytes, and the caller's probe told: when no server holds all
// of those ids' blocks, the rest cannot change a score (the match ends within them) and is
// never tokenized. A prompt new from its first KiB then costs a few KiB of BPE, not 64.
//
// Shared by every worker: encode() is thread-safe; its outcomes are counted.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/openai/prompt_tokenizer.h"
#include "ringgate/openai/token_cache.h"
#include "ringgate/tokenize/model_files.h"
#include "ringgate/util/result.h"

namespace ringgate::openai {

inline constexpr std::size_t kDefaultMaxTokenizeBytes = 64u << 10;
inline constexpr std::size_t kCutMarginTokens = 16;
inline constexpr std::size_t kProbeBytes = 4u << 10;
inline constexpr std::size_t kProbeMinBytes = 16u << 10;

// What happened to the requests handed to encode(), since start.
struct PromptTokenizerCounts {
  uint64_t tokenized = 0;
  uint64_t truncated = 0;        // tokenized, but only the first max_prompt_bytes
  uint64_t probed = 0;           // tokenized, but only the first kProbeBytes: the probe wanted no more
  uint64_t no_prompt = 0;        // no prompt text (token-id prompts, bad JSON): approximate
  uint64_t template_failed = 0;  // no chat template, or the template could not render: approximate
  uint64_t encode_failed = 0;    // the tokenizer refused the text: approximate
};

class HfPromptTokenizer final : public PromptTokenizer {
 public:
  // dir/tokenizer.json must load; dir/tokenizer_config.json's chat template is
  // optional (without one, chat requests are scored by the approximate index).
  static util::Result<std::shared_ptr<HfPromptTokenizer>> load(const std::string& dir, std::size_t max_prompt_bytes,
                                                               std::size_t token_cache_bytes = kDefaultTokenCacheBytes);
  // load(), but while a tokenizer loaded from the same directory with the same bound is
  // alive and its two files are unchanged (size, mtime, inode), that one: a config
  // reload then costs the control thread nothing here instead of ~0.5 s of parsing
  // (metrics polls wait meanwhile, and the detector counts stale metrics as
  // saturated), and the outcome counters carry on across reloads.
  static util::Result<std::shared_ptr<HfPromptTokenizer>> load_shared(
      const std::string& dir, std::size_t max_prompt_bytes, std::size_t token_cache_bytes = kDefaultTokenCacheBytes);

  bool encode(TextFields fields, std::string_view body, std::vector<uint32_t>& ids, bool counted = true,
              TokenProbe* probe = nullptr, std::vector<kvevents::MediaPlaceholder>* media = nullptr) const override;

  // Where the prompt text is cut to at most max_bytes (see the header comment).
  static std::size_t cut_point(std::string_view text, std::size_t max_bytes);

  bool has_chat_template() const { return files_.chat.has_value(); }
  const std::string& chat_template_error() const { return files_.chat_error; }
  PromptTokenizerCounts counts() const;
  TokenCacheStats cache_stats() const { return cache_.stats(); }

 private:
  HfPromptTokenizer(tokenize::ModelFiles files, std::size_t max_prompt_bytes, std::size_t token_cache_bytes);
  bool encode_text(std::string_view text, bool add_special, std::vector<uint32_t>& ids, bool counted,
                   TokenProbe* probe) const;
  // The ids of `region` into `ids`; false when the tokenizer refused it.
  bool tokenize(std::string_view region, bool add_special, std::vector<uint32_t>& ids) const;
  static void count(std::atomic<uint64_t>& outcome, bool counted) {
    if (counted) outcome.fetch_add(1, std::memory_order_relaxed);
  }

  tokenize::ModelFiles files_;
  std::size_t max_prompt_bytes_;
  mutable TokenCache cache_;  // a memo: encode() stays const (and thread-safe)
  mutable std::atomic<uint64_t> tokenized_{0}, truncated_{0}, probed_{0}, no_prompt_{0}, template_failed_{0},
      encode_failed_{0};
};

}  // namespace ringgate::openai
