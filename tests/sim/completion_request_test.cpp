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

TEST_CASE("chat media parts cost --tokens-per-image / --tokens-per-audio tokens, keyed by their data") {
  auto text_of = [](const std::string& parts, MediaTokens media = {}) {
    std::string body = R"({"model":"m","messages":[{"role":"user","content":[)" + parts + "]}]}";
    const auto p = parse_completion_request(Endpoint::chat_completions, body, media);
    return ok(p).prompts.at(0).text;
  };
  const std::string cat = R"({"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}})";
  const std::string dog = R"({"type":"image_url","image_url":{"url":"data:image/png;base64,AAAB"}})";
  const std::string base = text_of("");
  CHECK(text_of(cat).size() == base.size() + 576 * 4);
  CHECK(text_of(cat, {100, 750}).size() == base.size() + 100 * 4);
  CHECK(text_of(R"({"type":"input_audio","input_audio":{"data":"UklG","format":"wav"}})").size() == base.size() + 750 * 4);
  CHECK(text_of(cat) == text_of(R"({"image_url":{"url":"data:image/png;base64,AAAA","detail":"low"},"type":"image_url"})"));
  CHECK(text_of(cat) != text_of(dog));
  // A bare string url (the Responses shape) is an image too; a part without its url is refused.
  CHECK(text_of(R"({"type":"image_url","image_url":"https://x/y.png"})").size() == base.size() + 576 * 4);
  std::string body = R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]})";
  CHECK(err(parse_completion_request(Endpoint::chat_completions, body)).status == 400);
}
