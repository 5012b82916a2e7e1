#include <doctest/doctest.h>

#include <string>

#include "ringgate/openai/usage_scanner.h"

using ringgate::openai::UsageScanner;

TEST_CASE("usage in a non-streaming body, fed whole and byte by byte") {
  const std::string body =
      R"({"id":"cmpl-1","choices":[{"text":"hi"}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}})";
  UsageScanner whole;
  whole.feed(body);
  CHECK(whole.prompt_tokens() == 12);
  CHECK(whole.completion_tokens() == 7);
  UsageScanner bytes;
  for (char c : body) bytes.feed(std::string_view(&c, 1));
  CHECK(bytes.prompt_tokens() == 12);
  CHECK(bytes.completion_tokens() == 7);
}

TEST_CASE("the usage chunk of an SSE stream wins, split anywhere") {
  const std::string stream =
      "data: {\"choices\":[{\"text\":\"a\"}],\"usage\":null}\n\n"
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\": 1234,\"completion_tokens\": 56}}\n\n"
      "data: [DONE]\n\n";
  for (size_t split = 1; split < stream.size(); ++split) {
    UsageScanner s;
    s.feed(std::string_view(stream).substr(0, split));
    s.feed(std::string_view(stream).substr(split));
    CHECK(s.prompt_tokens() == 1234);
    CHECK(s.completion_tokens() == 56);
  }
}

TEST_CASE("no usage: nothing seen; a key cut before its number is not read as 0") {
  UsageScanner s;
  s.feed("data: {\"choices\":[{\"text\":\"prompt_tokens\"}]}\n\n");
  CHECK(s.prompt_tokens() == -1);
  s.feed("{\"usage\":{\"completion_tokens\":");
  CHECK(s.completion_tokens() == -1);
  s.feed("42}}");
  CHECK(s.completion_tokens() == 42);
}

TEST_CASE("cached prompt tokens from usage.prompt_tokens_details, split anywhere") {
  const std::string body =
      R"({"usage":{"prompt_tokens":40,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":32}}})";
  for (size_t split = 1; split < body.size(); ++split) {
    UsageScanner s;
    s.feed(std::string_view(body).substr(0, split));
    s.feed(std::string_view(body).substr(split));
    CHECK(s.cached_tokens() == 32);
    CHECK(s.prompt_tokens() == 40);
  }
  UsageScanner none;
  none.feed(R"({"usage":{"prompt_tokens":40,"completion_tokens":3,"prompt_tokens_details":null}})");
  CHECK(none.cached_tokens() == -1);
}

TEST_CASE("a number cut at the end of what has arrived is not read until it is complete") {
  // A stream that breaks mid-number must not log a truncated count (12 of 1234).
  UsageScanner s;
  s.feed("{\"usage\":{\"prompt_tokens\":12");
  CHECK(s.prompt_tokens() == -1);
  s.feed("34,\"completion_tokens\":5");
  CHECK(s.prompt_tokens() == 1234);
  CHECK(s.completion_tokens() == -1);
  s.feed("6}}");
  CHECK(s.completion_tokens() == 56);
}
