#pragma once
// Finds the token counts of an OpenAI response's `usage` object as the body streams past
// (non-streaming JSON, or the events of an SSE stream), without parsing or buffering the
// body. Between usage objects it only searches for the key `"usage"` (SIMD, 32 bytes a
// step): vLLM sends it in a stream's last event (stream_options.include_usage), in every
// event (continuous_usage_stats), or as `"usage":null` in each completion chunk. Only a
// usage object's own bytes are read one by one, for `prompt_tokens`, `completion_tokens`
// and `cached_tokens` (prompt_tokens_details). State carries across chunks, so a key or a
// number may be cut anywhere. The last value seen wins (the stream's last usage is its total).
//
// Hostile input: a usage object longer than kMaxUsageObjectBytes, or nested deeper than
// kMaxUsageDepth, is given up (its counts so far stay); numbers of more than 18 digits
// are not counts.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringgate::openai {

// vLLM's usage object is ~60-200 bytes (prompt_tokens_details included).
inline constexpr size_t kMaxUsageObjectBytes = 4096;
inline constexpr uint8_t kMaxUsageDepth = 8;

class UsageScanner {
 public:
  void reset() { *this = UsageScanner{}; }
  void feed(std::string_view data);
  // The next bytes fed do not follow the last ones: whatever was being read is dropped
  // (the counts found stay).
  void skip();

  int64_t prompt_tokens() const { return prompt_tokens_; }          // -1 = not seen
  int64_t completion_tokens() const { return completion_tokens_; }  // -1 = not seen
  // usage.prompt_tokens_details.cached_tokens (vLLM with prefix caching); -1 = not seen.
  int64_t cached_tokens() const { return cached_tokens_; }

 private:
  enum class State : uint8_t { Search, AfterKey, AfterColon, Object };
  enum class Field : uint8_t { None, Prompt, Completion, Cached };

  size_t search(std::string_view data, size_t at);
  size_t read_object(std::string_view data, size_t at);
  void end_number();

  int64_t prompt_tokens_ = -1;
  int64_t completion_tokens_ = -1;
  int64_t cached_tokens_ = -1;

  State state_ = State::Search;
  uint8_t matched_ = 0;       // Search: bytes of `"usage"` at the end of the last chunk
  char last_byte_ = 0;        // the last byte fed (a key's quote must not follow a backslash)
  bool quote_escaped_ = false;  // Search: the byte before the matched quote was a backslash
  // Object: where the usage object's bytes stand.
  uint16_t object_bytes_ = 0;
  uint8_t depth_ = 0;
  bool in_string_ = false;
  bool escape_ = false;
  bool string_is_key_ = false;
  bool expect_value_ = false;  // after a ':'
  Field key_ = Field::None;    // the last key string read (at its ':' it becomes field_)
  Field field_ = Field::None;  // the value being read belongs to this count
  char key_text_[20] = {};
  uint8_t key_len_ = 0;        // > sizeof key_text_: too long (or escaped) to be a wanted key
  uint8_t digits_ = 0;         // > 18: too long to be a count
  int64_t number_ = 0;
};

}  // namespace ringgate::openai
