#include "ringgate/sim/completion_request.h"

#include <doctest/doctest.h>

using namespace ringgate::sim;

namespace {
ParsedRequest parse(Endpoint e, std::string body) { return parse_completion_request(e, body); }
const CompletionRequest& ok(const ParsedRequest& p) {
  if (auto* e = std::get_if<ApiError>(&p)) FAIL(e->message);
  return std::get<CompletionRequest>(p);
}
ApiError err(const ParsedRequest& p) {
  REQUIRE(std::holds_alternative<ApiError>(p));
  return std::get<ApiError>(p);
}
}  // namespace

TEST_CASE("a completion request with the fields the sim uses") {
  auto p = parse(Endpoint::completions,
                 R"({"model":"m","prompt":"hi there","max_tokens":7,"stream":true,
                     "stream_options":{"include_usage":true},"temperature":0.5,"extra":[1,{"a":2}]})");
  const auto& r = ok(p);
  CHECK(r.model == "m");
  REQUIRE(r.prompts.size() == 1);
  CHECK(r.prompts[0].text == "hi there");
  CHECK(r.prompts[0].echo_text == "hi there");
  CHECK(r.max_tokens == 7u);
  CHECK(r.stream);
  CHECK(r.include_usage);
}

TEST_CASE("chat prompt text is every message with its role; echo text is the last content") {
  auto p = parse(Endpoint::chat_completions,
                 R"({"model":"m","messages":[{"role":"system","content":"be brief"},
                     {"role":"user","content":[{"type":"text","text":"hello"},{"type":"text","text":" you"}]}],
                     "max_completion_tokens":3})");
  const auto& r = ok(p);
  REQUIRE(r.prompts.size() == 1);
  CHECK(r.prompts[0].text == "system: be brief\nuser: hello you\nassistant: ");  // + the generation prompt
  CHECK(r.prompts[0].echo_text == "hello you");
  CHECK(r.max_completion_tokens == 3u);
  CHECK_FALSE(r.max_tokens);
  CHECK_FALSE(r.stream);
}

TEST_CASE("malformed bodies are 400 Bad Request (vLLM's validation errors) naming the field") {
  CHECK(err(parse(Endpoint::completions, "not json")).type == "Bad Request");
  CHECK(err(parse(Endpoint::completions, R"({"model":"m","prompt":{}})")).type == "Bad Request");
  CHECK(err(parse(Endpoint::completions, R"({"model":)")).message == "JSON decode error");
  CHECK(err(parse(Endpoint::completions, "not json")).status == 400);
  CHECK(err(parse(Endpoint::completions, R"({"model":"m","prompt":"x"} trailing)")).status == 400);
  CHECK(err(parse(Endpoint::completions, "[1,2]")).message == "Input should be a valid dictionary");
  CHECK(err(parse(Endpoint::completions, R"({"model":"m"})")).param == "prompt");
  CHECK(err(parse(Endpoint::chat_completions, R"({"model":"m"})")).param == "messages");
  CHECK(err(parse(Endpoint::completions, R"({"model":5,"prompt":"x"})")).param == "model");
  CHECK(err(parse(Endpoint::completions, R"({"model":"m","prompt":{}})")).param == "prompt");
  CHECK(err(parse(Endpoint::chat_completions, R"({"model":"m","messages":"hi"})")).param == "messages");
  CHECK(err(parse(Endpoint::chat_completions, R"({"model":"m","messages":[]})")).status == 400);
  CHECK(err(parse(Endpoint::chat_completions, R"({"model":"m","messages":[{"content":"x"}]})")).status == 400);
  CHECK(err(parse(Endpoint::completions, R"({"model":"m","prompt":"x","max_tokens":"5"})")).param == "max_tokens");
  CHECK(err(parse(Endpoint::completions, R"({"model":"m","prompt":"x","max_tokens":0})")).param == "max_tokens");
  CHECK(err(parse(Endpoint::completions, R"({"model":"m","prompt":"x","stream":"yes"})")).param == "stream");
  CHECK(err(parse(Endpoint::completions, R"({"model":"m","prompt":"x","stream_options":{"include_usage":true}})"))
            .param == "stream_options");
  CHECK(err(parse(Endpoint::completions, "")).status == 400);
}
