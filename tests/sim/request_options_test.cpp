// The request fields vLLM honours beyond the prompt (issue 19): n, batches and
// token-id prompts, stop strings, echo, logprobs, max_completion_tokens, a
// missing model, stream_options defaults; and stop strings applied to an output.
#include <doctest/doctest.h>

#include "ringgate/sim/completion_request.h"
#include "ringgate/sim/output_text.h"

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

TEST_CASE("a missing or null model is the base model, not an error") {
  CHECK_FALSE(ok(parse(Endpoint::completions, R"({"prompt":"x"})")).model);
  CHECK_FALSE(ok(parse(Endpoint::completions, R"({"model":null,"prompt":"x"})")).model);
}

TEST_CASE("batches: a list of strings, token ids, and lists of token ids") {
  auto p = parse(Endpoint::completions, R"({"prompt":["ab","cd","ef"],"n":2})");
  const auto& r = ok(p);
  REQUIRE(r.prompts.size() == 3);
  CHECK(r.prompts[2].text == "ef");
  CHECK(r.n == 2);
  auto ids = parse(Endpoint::completions, R"({"prompt":[1684234849,101]})");  // "abcd", "e"
  REQUIRE(ok(ids).prompts.size() == 1);
  CHECK(ok(ids).prompts[0].text == "abcde");
  auto nested = parse(Endpoint::completions, R"({"prompt":[[1684234849],[101]]})");
  REQUIRE(ok(nested).prompts.size() == 2);
  CHECK(ok(nested).prompts[1].text == "e");
  CHECK(err(parse(Endpoint::completions, R"({"prompt":[]})")).param == "prompt");
  CHECK(err(parse(Endpoint::completions, R"({"prompt":[1,"a"]})")).param == "prompt");
  CHECK(err(parse(Endpoint::completions, R"({"prompt":[-1]})")).param == "prompt");
}

TEST_CASE("n, stop, echo, logprobs and max_completion_tokens; bounds on each") {
  auto r_parsed = parse(Endpoint::completions, R"({"prompt":"x","stop":["a","",  "b"],"echo":true,"logprobs":3})");
  const auto& r = ok(r_parsed);
  CHECK(r.stop == std::vector<std::string>{"a", "b"});
  CHECK(r.echo);
  CHECK(r.logprobs == 3u);
  CHECK(ok(parse(Endpoint::completions, R"({"prompt":"x","stop":"end"})")).stop == std::vector<std::string>{"end"});
  auto chat_parsed = parse(Endpoint::chat_completions,
                              R"({"messages":[{"role":"user","content":"x"}],"max_tokens":9,"max_completion_tokens":2,)"
                              R"("logprobs":true,"top_logprobs":4})");
  const auto& chat = ok(chat_parsed);
  CHECK(chat.max_tokens == 9u);
  CHECK(chat.max_completion_tokens == 2u);
  CHECK(chat.logprobs == 4u);
  CHECK(err(parse(Endpoint::chat_completions, R"({"messages":[{"role":"user","content":"x"}],"top_logprobs":2})"))
            .param == "top_logprobs");
  CHECK(err(parse(Endpoint::completions, R"({"prompt":"x","logprobs":21})")).param == "logprobs");
  CHECK(err(parse(Endpoint::completions, R"({"prompt":"x","n":0})")).param == "n");
  CHECK(err(parse(Endpoint::completions, R"({"prompt":"x","n":1025})")).param == "n");
  CHECK(err(parse(Endpoint::completions, R"({"prompt":["a","b"],"n":513})")).param == "n");
  CHECK(err(parse(Endpoint::completions, R"({"prompt":"x","stop":[1]})")).param == "stop");
  CHECK(err(parse(Endpoint::completions, R"({"prompt":"x","n":0})")).type == "Bad Request");
}

TEST_CASE("stream_options: include_usage defaults to true once given; continuous_usage_stats is read") {
  auto none_parsed = parse(Endpoint::completions, R"({"prompt":"x","stream":true})");
  const auto& none = ok(none_parsed);
  CHECK_FALSE(none.has_stream_options);
  CHECK_FALSE(none.include_usage);
  auto empty_parsed = parse(Endpoint::completions, R"({"prompt":"x","stream":true,"stream_options":{}})");
  const auto& empty = ok(empty_parsed);
  CHECK(empty.has_stream_options);
  CHECK(empty.include_usage);
  auto off_parsed = parse(Endpoint::completions,
                             R"({"prompt":"x","stream":true,"stream_options":{"include_usage":false,"continuous_usage_stats":true}})");
  const auto& off = ok(off_parsed);
  CHECK_FALSE(off.include_usage);
  CHECK(off.continuous_usage_stats);
}

TEST_CASE("stop strings cut the output before the earliest one, or after it when asked") {
  const std::vector<std::string> stop{"cd", "b"};
  OutputSpec spec;
  spec.mode = OutputMode::echo;
  spec.echo_text = "aaaabbbbccccdddd";  // tokens aaaa bbbb cccc dddd
  spec.limit = 4;
  spec.limit_given = true;
  spec.stop = &stop;
  PlannedOutput out = plan_output(spec);
  CHECK(out.finish == FinishReason::stop);
  CHECK(out.stop_reason == "b");
  REQUIRE(out.tokens.size() == 2);  // the token that completed "b" is the last generated
  CHECK(out.tokens[0] == "aaaa");
  CHECK(out.tokens[1] == "");
  spec.include_stop_str_in_output = true;
  out = plan_output(spec);
  REQUIRE(out.tokens.size() == 2);
  CHECK(out.tokens[1] == "b");
  const std::vector<std::string> none{"zz"};
  spec.stop = &none;
  out = plan_output(spec);
  CHECK(out.tokens.size() == 4);
  CHECK(out.finish == FinishReason::length);
  CHECK(out.stop_reason.empty());
}
