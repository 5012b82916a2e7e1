#pragma once
// Finds the moment an answer carries its first generated token, as the response body
// streams past, so TTFT is timed to a token and not to the response headers (a streamed
// answer sends its headers, and often an empty role-only chunk, before any token).
//   - a non-streamed answer: its first body byte;
//   - an SSE stream: the first string value of a generating key ("content", "text",
//     "reasoning_content", "arguments") that is not empty. `"content":""` (vLLM's
//     first chat chunk) and `"content":null` are not tokens.
// Like UsageScanner it neither parses nor buffers the body: it keeps a few bytes
// between chunks so a key cut across two reads is still found. Bounded work per byte, and
// none past the first token (a stream's first or second event).
#include <cstddef>
#include <string_view>

namespace ringgate::openai {

class FirstTokenScanner {
 public:
  // streaming: the answer is an SSE stream (Content-Type text/event-stream).
  void reset(bool streaming) { *this = FirstTokenScanner{}; streaming_ = streaming; }

  // Feeds the next de-chunked body bytes; true when the first token is in them (only
  // once per answer).
  bool feed(std::string_view data);

  bool seen() const { return seen_; }

 private:
  bool scan(std::string_view text);

  bool streaming_ = false;
  bool seen_ = false;
  char carry_[32] = {};  // the tail of the previous chunk
  size_t carry_len_ = 0;
};

}  // namespace ringgate::openai
