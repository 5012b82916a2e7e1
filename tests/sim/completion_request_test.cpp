#include "ringgate/kvevents/sim_media_rendering.h"
#include "ringgate/sim/completion_request.h"
#include "ringgate/sim/tokenizer.h"

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

TEST_CASE("chat media parts are runs of --tokens-per-image / --tokens-per-audio placeholders, keyed by uuid or data") {
  namespace kve = ringgate::kvevents;
  auto prompt_of = [](const std::string& parts, MediaTokens media = {}) {
    std::string body = R"({"model":"m","messages":[{"role":"user","content":[)" + parts + "]}]}";
    const auto p = parse_completion_request(Endpoint::chat_completions, body, media);
    return ok(p).prompts.at(0);
  };
  const std::string cat = R"({"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}})";
  const std::string dog = R"({"type":"image_url","image_url":{"url":"data:image/png;base64,AAAB"}})";
  const std::string base = prompt_of("").text;  // "user: \nassistant: "
  CHECK(prompt_of("").media.empty());
  // "user: " (6 bytes) is padded to a token boundary, then 4 bytes a placeholder.
  const PromptInput c = prompt_of(cat);
  CHECK(c.text.size() == base.size() + 2 + 576 * 4);
  CHECK(c.text.substr(0, 8) == std::string("user: \0\0", 8));
  REQUIRE(c.media.size() == 1);
  CHECK(c.media[0].offset == 2);
  CHECK(c.media[0].length == 576);
  CHECK(c.media[0].identifier == kve::sim_media_identifier(kve::SimMediaKind::Image, "data:image/png;base64,AAAA"));
  CHECK(token_ids(c.text).at(2) == kve::sim_placeholder_token(kve::SimMediaKind::Image));
  CHECK(prompt_of(cat, {100, 750}).media.at(0).length == 100);
  const PromptInput a = prompt_of(R"({"type":"input_audio","input_audio":{"data":"UklG","format":"wav"}})");
  CHECK(a.media.at(0).length == 750);
  CHECK(token_ids(a.text).at(2) == kve::sim_placeholder_token(kve::SimMediaKind::Audio));
  CHECK(prompt_of(cat).media ==
        prompt_of(R"({"image_url":{"url":"data:image/png;base64,AAAA","detail":"low"},"type":"image_url"})").media);
  // Two images: the same tokens, told apart by their identifiers only (as vLLM's mm_hash).
  CHECK(prompt_of(cat).text == prompt_of(dog).text);
  CHECK(prompt_of(cat).media != prompt_of(dog).media);
  // The client's uuid is the identifier (vLLM's multi_modal_uuids); null is none.
  const std::string cat_uuid =
      R"({"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"},"uuid":"cat-7"})";
  CHECK(prompt_of(cat_uuid).media.at(0).identifier == "cat-7");
  CHECK(prompt_of(R"({"type":"image_url","uuid":null,"image_url":"u"})").media.at(0).identifier ==
        kve::sim_media_identifier(kve::SimMediaKind::Image, "u"));
  // Text after a part starts at the token after the run; the echo keeps the run too.
  const PromptInput two = prompt_of(R"({"type":"text","text":"abc"},)" + cat + R"(,{"type":"text","text":"d"},)" + dog);
  REQUIRE(two.media.size() == 2);
  CHECK(two.media[0].offset == 3);  // "user: abc" is 9 bytes: 3 tokens
  CHECK(two.media[1].offset == 3 + 576 + 1);
  CHECK(two.echo_text.size() == 4 + 576 * 4 + 4 + 576 * 4);
  // A bare string url (the Responses shape) is an image too; a part without its url is refused.
  CHECK(prompt_of(R"({"type":"image_url","image_url":"https://x/y.png"})").media.size() == 1);
  std::string body = R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]})";
  CHECK(err(parse_completion_request(Endpoint::chat_completions, body)).status == 400);
  // A uuid that is not a string, or past kMaxMediaUuidBytes, is refused; at the bound it is taken.
  body = R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":"u","uuid":3}]}]})";
  CHECK(err(parse_completion_request(Endpoint::chat_completions, body)).status == 400);
  const std::string at_bound(kve::kMaxMediaUuidBytes, 'x');
  const std::string with = R"({"type":"image_url","image_url":"u","uuid":")";
  CHECK(prompt_of(with + at_bound + R"("})").media.at(0).identifier == at_bound);
  body = R"({"model":"m","messages":[{"role":"user","content":[)" + with + at_bound + R"(x"}]}]})";
  CHECK(err(parse_completion_request(Endpoint::chat_completions, body)).status == 400);
}
