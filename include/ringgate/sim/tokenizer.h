// The simulator's tokenizer: every 4 bytes of text are one token. Real
// tokenizers average about 4 bytes of English per token, so prompt sizes,
// KV-cache use and prefill times come out in the right range without a vocabulary.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ringgate::sim {

inline constexpr uint32_t kBytesPerToken = 4;

// Tokens in `text`: ceil(bytes / 4).
uint32_t count_tokens(std::string_view text);

// Token ids: each 4-byte piece of text read as a little-endian number (the
// last piece zero-padded), so ids and text convert both ways (/tokenize,
// /detokenize, prompts given as token ids).
std::vector<uint32_t> token_ids(std::string_view text);
// Appends the text of one token id (its non-zero bytes).
void append_token_text(std::string& out, uint32_t id);

// Cuts `text` into output tokens of about 4 bytes, never splitting a UTF-8
// character, and returns at most `max_tokens` of them (views into `text`).
std::vector<std::string_view> split_tokens(std::string_view text, uint32_t max_tokens);

}  // namespace ringgate::sim
