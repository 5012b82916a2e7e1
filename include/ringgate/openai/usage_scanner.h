#pragma once
// Finds the token counts of an OpenAI response's `usage` object as the body streams
// past (non-streaming JSON, or the usage chunk of an SSE stream), without parsing
// or buffering the body: it looks for `"prompt_tokens":N` and
// `"completion_tokens":N` (and `"cached_tokens":N`), keeping a few bytes between chunks so a key split across
// two reads is still found. The last value seen wins (the usage chunk comes last).
#include <cstdint>
#include <string_view>

namespace ringgate::openai {

class UsageScanner {
 public:
  void reset() { *this = UsageScanner{}; }
  void feed(std::string_view data);

  int64_t prompt_tokens() const { return prompt_tokens_; }          // -1 = not seen
  int64_t completion_tokens() const { return completion_tokens_; }  // -1 = not seen
  // usage.prompt_tokens_details.cached_tokens (vLLM with prefix caching); -1 = not seen.
  int64_t cached_tokens() const { return cached_tokens_; }

 private:
  void scan(std::string_view text);

  int64_t prompt_tokens_ = -1;
  int64_t completion_tokens_ = -1;
  int64_t cached_tokens_ = -1;
  char carry_[40] = {};  // the tail of the previous chunk
  size_t carry_len_ = 0;
};

}  // namespace ringgate::openai
