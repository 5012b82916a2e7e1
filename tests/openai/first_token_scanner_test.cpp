#include <doctest/doctest.h>

#include <string>

#include "ringgate/openai/first_token_scanner.h"

using ringgate::openai::FirstTokenScanner;

namespace {

// The byte offset (end of the chunk) at which the scanner reports the first token when
// `body` arrives split at `split`, or std::string::npos when it never does.
size_t found_at(const std::string& body, size_t split, bool streaming) {
  FirstTokenScanner s;
  s.reset(streaming);
  if (s.feed(std::string_view(body).substr(0, split))) return split;
  if (s.feed(std::string_view(body).substr(split))) return body.size();
  return std::string::npos;
}

}  // namespace

TEST_CASE("a non-streamed answer: its first body byte") {
  FirstTokenScanner s;
  s.reset(false);
  CHECK_FALSE(s.feed(""));
  CHECK(s.feed("{"));
  CHECK_FALSE(s.feed("\"id\":1}"));  // only once
  CHECK(s.seen());
}

TEST_CASE("chat stream: the role-only chunk with empty content is not a token") {
  const std::string role = "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n";
  const std::string token = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n";
  FirstTokenScanner s;
  s.reset(true);
  CHECK_FALSE(s.feed(role));
  CHECK_FALSE(s.seen());
  CHECK(s.feed(token));
  CHECK_FALSE(s.feed(token));
}

TEST_CASE("completions stream, split at every byte: found exactly when the token's first byte arrives") {
  const std::string head = "data: {\"id\":\"cmpl-1\",\"choices\":[{\"index\":0,\"text\":\"";
  const std::string body = head + "Hello\"}]}\n\ndata: [DONE]\n\n";
  for (size_t split = 1; split < body.size(); ++split) {
    const size_t want = split > head.size() ? split : body.size();
    CHECK_MESSAGE(found_at(body, split, true) == want, "split at ", split);
  }
}

TEST_CASE("not tokens: null content, a key-like value, an error event, usage-only chunks, [DONE]") {
  FirstTokenScanner s;
  s.reset(true);
  CHECK_FALSE(s.feed("data: {\"choices\":[{\"delta\":{\"content\":null,\"tool_calls\":null}}]}\n\n"));
  CHECK_FALSE(s.feed("data: {\"choices\":[{\"delta\":{\"type\":\"text\"}}]}\n\n"));
  CHECK_FALSE(s.feed("data: {\"error\":{\"message\":\"upstream broke\",\"type\":\"server_error\"}}\n\n"));
  CHECK_FALSE(s.feed("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":0}}\n\n"));
  CHECK_FALSE(s.feed("data: [DONE]\n\n"));
  CHECK_FALSE(s.seen());
}

TEST_CASE("an escaped \"content\" inside generated text is not a key; spaces around the colon are") {
  FirstTokenScanner s;
  s.reset(true);
  CHECK_FALSE(s.feed("data: {\"x\":\"say \\\"content\\\": \\\"no\\\"\"}\n\n"));
  CHECK(s.feed("data: {\"choices\":[{\"delta\":{\"content\" : \"y\"}}]}\n\n"));
}

TEST_CASE("reasoning and tool-call arguments are generated tokens too") {
  FirstTokenScanner a;
  a.reset(true);
  CHECK(a.feed("data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"Let\"}}]}\n\n"));
  FirstTokenScanner b;
  b.reset(true);
  CHECK(b.feed("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"function\":{\"arguments\":\"{\"}}]}}]}\n\n"));
}

TEST_CASE("byte-by-byte feeding of a long stream finds the first token once") {
  std::string body = "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n";
  const size_t first = body.size() + std::string("data: {\"choices\":[{\"delta\":{\"content\":\"").size();
  for (int i = 0; i < 50; ++i) body += "data: {\"choices\":[{\"delta\":{\"content\":\"tok\"}}]}\n\n";
  FirstTokenScanner s;
  s.reset(true);
  size_t hits = 0, at = 0;
  for (size_t i = 0; i < body.size(); ++i)
    if (s.feed(std::string_view(&body[i], 1))) { ++hits; at = i; }
  CHECK(hits == 1);
  CHECK(at == first);
}
