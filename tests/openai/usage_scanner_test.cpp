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

namespace {

// A vLLM completion stream: `"usage":null` in every chunk, then the usage event
// (stream_options.include_usage) with prompt_tokens_details, then [DONE].
std::string vllm_stream(int events) {
  std::string s;
  for (int i = 0; i < events; ++i)
    s += "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
         "\"text\":\" usage\",\"logprobs\":null,\"finish_reason\":null,\"stop_reason\":null}],\"usage\":null}\n\n";
  s += "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1,\"model\":\"m\",\"choices\":[],"
       "\"usage\":{\"prompt_tokens\":4021,\"total_tokens\":4221,\"completion_tokens\":200,"
       "\"prompt_tokens_details\":{\"cached_tokens\":4000}}}\n\n"
       "data: [DONE]\n\n";
  return s;
}

struct Counts {
  int64_t prompt, completion, cached;
  bool operator==(const Counts&) const = default;
};

Counts counts(const UsageScanner& s) { return {s.prompt_tokens(), s.completion_tokens(), s.cached_tokens()}; }

}  // namespace

TEST_CASE("a vLLM stream cut into three chunks anywhere gives the usage event's counts") {
  const std::string stream = vllm_stream(2);
  const Counts want{4021, 200, 4000};
  for (size_t a = 0; a <= stream.size(); ++a) {
    for (size_t b = a; b <= stream.size(); ++b) {
      UsageScanner s;
      s.feed(std::string_view(stream).substr(0, a));
      s.feed(std::string_view(stream).substr(a, b - a));
      s.feed(std::string_view(stream).substr(b));
      if (!(counts(s) == want)) FAIL_CHECK("cut at ", a, " and ", b);
    }
  }
}

TEST_CASE("the key at every offset from a vector's start, among near misses, fed whole and byte by byte") {
  // `"u` and a quote 6 bytes on, the three bytes the search tests, without the key.
  const std::string decoys = "\"uxxxx\" \"usag\"\" \"usagE\" \"Usage\" ";
  for (size_t offset = 0; offset < 80; ++offset) {
    const std::string body = std::string(offset, ' ') + decoys + decoys + "{\"usage\":{\"prompt_tokens\":" +
                             std::to_string(offset + 1) + "}}" + decoys;
    UsageScanner whole;
    whole.feed(body);
    CHECK_MESSAGE(whole.prompt_tokens() == int64_t(offset + 1), "offset ", offset);
    UsageScanner bytes;
    for (char c : body) bytes.feed(std::string_view(&c, 1));
    CHECK_MESSAGE(bytes.prompt_tokens() == int64_t(offset + 1), "offset ", offset);
  }
}

TEST_CASE("continuous usage stats: every event has usage, the last one wins") {
  std::string stream;
  for (int i = 1; i <= 50; ++i)
    stream += "data: {\"choices\":[{\"text\":\"x\"}],\"usage\":{\"prompt_tokens\":9,\"total_tokens\":" +
              std::to_string(9 + i) + ",\"completion_tokens\":" + std::to_string(i) + "}}\n\n";
  for (size_t step : {size_t(1), size_t(7), size_t(64), stream.size()}) {
    UsageScanner s;
    for (size_t at = 0; at < stream.size(); at += step) s.feed(std::string_view(stream).substr(at, step));
    CHECK(s.prompt_tokens() == 9);
    CHECK(s.completion_tokens() == 50);
  }
}

TEST_CASE("only the usage object is read: counts elsewhere, in strings, or after an escaped quote are not") {
  UsageScanner s;
  s.feed(R"({"prompt_tokens":1,"stats":{"completion_tokens":2},"choices":[{"text":"\"usage\":{\"prompt_tokens\":3}"}]})");
  s.feed(R"({"text":"a\"usage":{"prompt_tokens":4}})");  // `\"usage"`: an escaped quote, then the text's end
  s.feed(R"({"choices":[{"text":"usage"}],"usage":null})");  // a value "usage", and a null usage
  CHECK(counts(s) == Counts{-1, -1, -1});
  s.feed(R"({"usage" : { "prompt_tokens" : 5 , "completion_tokens":6, "total_tokens":11 } })");
  CHECK(counts(s) == Counts{5, 6, -1});
}

TEST_CASE("what is not a count is not read: 19 digits, a fraction, an exponent, a sign, a string") {
  const char* const bodies[] = {
      R"({"usage":{"prompt_tokens":1234567890123456789}})", R"({"usage":{"prompt_tokens":12.5}})",
      R"({"usage":{"prompt_tokens":1e3}})", R"({"usage":{"prompt_tokens":-4}})", R"({"usage":{"prompt_tokens":"7"}})",
      R"({"usage":{"prompt_tokens":[7]}})"};
  for (const char* body : bodies) {
    UsageScanner s;
    s.feed(body);
    CHECK_MESSAGE(s.prompt_tokens() == -1, body);
  }
  UsageScanner s;
  s.feed(R"({"usage":{"prompt_tokens":123456789012345678}})");  // 18 digits are
  CHECK(s.prompt_tokens() == 123456789012345678);
}

TEST_CASE("a usage object past its byte or depth bound is given up; the next one is read") {
  const std::string padding = "\"pad\":\"" + std::string(ringgate::openai::kMaxUsageObjectBytes, 'x') + "\",";
  UsageScanner s;
  s.feed("data: {\"usage\":{" + padding + "\"prompt_tokens\":3}}\n\n");
  CHECK(s.prompt_tokens() == -1);
  s.feed("data: {\"usage\":{\"a\":[[[[[[[[[]]]]]]]]],\"prompt_tokens\":4}}\n\n");  // 9 deep with the object
  CHECK(s.prompt_tokens() == -1);
  s.feed("data: {\"usage\":{\"a\":[[[[[[[]]]]]]],\"prompt_tokens\":5}}\n\n");  // 8 deep: read
  CHECK(s.prompt_tokens() == 5);
  s.feed("data: {\"usage\":{\"pad\":\"" + std::string(ringgate::openai::kMaxUsageObjectBytes - 64, 'x') +
         "\",\"prompt_tokens\":6}}\n\n");  // within the bound
  CHECK(s.prompt_tokens() == 6);
}

TEST_CASE("broken JSON too gives the same counts whole or cut anywhere") {
  // An escaped quote before `usage"`, whose closing quote starts `"usage"` again.
  const std::string body = R"({"text":"x\"usage"usage":{"prompt_tokens":7}})";
  UsageScanner whole;
  whole.feed(body);
  for (size_t split = 1; split < body.size(); ++split) {
    UsageScanner s;
    s.feed(std::string_view(body).substr(0, split));
    s.feed(std::string_view(body).substr(split));
    CHECK_MESSAGE(counts(s) == counts(whole), "split at ", split);
  }
}
