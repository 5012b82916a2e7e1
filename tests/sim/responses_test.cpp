#include "ringgate/sim/responses.h"

#include <doctest/doctest.h>

#include "ringgate/sim/api_error.h"

using namespace ringgate::sim;

TEST_CASE("ids look like vLLM's") {
  CHECK(make_response_id(Endpoint::completions, 1, 2) == "cmpl-00000000000000010000000000000002");
  CHECK(make_response_id(Endpoint::chat_completions, 0, 0).starts_with("chatcmpl-"));
}

TEST_CASE("full completion body, with escaping and cached tokens") {
  ResponseHead h{Endpoint::completions, "cmpl-1", 5, "m"};
  std::string out;
  append_full_response(out, h, "a\"b\n", FinishReason::length, Usage{3, 2, 1});
  CHECK(out ==
        R"({"id":"cmpl-1","object":"text_completion","created":5,"model":"m","choices":[{"index":0,"text":"a\"b\n",)"
        R"("logprobs":null,"finish_reason":"length","stop_reason":null}],"usage":{"prompt_tokens":3,"total_tokens":5,)"
        R"("completion_tokens":2,"prompt_tokens_details":{"cached_tokens":1}}})");
}

TEST_CASE("chat chunks: role on the first, finish_reason on the last, usage chunk with empty choices") {
  ResponseHead h{Endpoint::chat_completions, "chatcmpl-1", 5, "m"};
  std::string first, last, usage;
  append_token_event(first, h, "hi", true, nullptr);
  FinishReason stop = FinishReason::stop;
  append_token_event(last, h, "!", false, &stop);
  append_usage_event(usage, h, Usage{1, 2, 0});
  CHECK(first.starts_with("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\""));
  CHECK(first.find(R"("delta":{"role":"assistant","content":"hi"})") != std::string::npos);
  CHECK(first.find(R"("finish_reason":null)") != std::string::npos);
  CHECK(first.ends_with("\n\n"));
  CHECK(last.find(R"("delta":{"content":"!"})") != std::string::npos);
  CHECK(last.find(R"("finish_reason":"stop")") != std::string::npos);
  CHECK(usage.find(R"("choices":[],"usage":{"prompt_tokens":1,"total_tokens":3)") != std::string::npos);
}

TEST_CASE("errors have vLLM's shape") {
  CHECK(error_body({404, "The model `x` does not exist.", "model"}) ==
        R"({"error":{"message":"The model `x` does not exist.","type":"NotFoundError","param":"model","code":404}})");
  CHECK(error_body({400, "bad", {}}) ==
        R"({"error":{"message":"bad","type":"BadRequestError","param":null,"code":400}})");
  CHECK(error_body({429, "full", {}}).find(R"("type":"Too Many Requests")") != std::string::npos);
}

TEST_CASE("models list: base with null parent, adapters with root and parent") {
  std::string body = models_body({{"base", "base", {}}, {"lora-a", "/adapters/a", "base"}}, 7, 2048);
  CHECK(body.starts_with(R"({"object":"list","data":[{"id":"base","object":"model","created":7,"owned_by":"vllm",)"
                         R"("root":"base","parent":null,"max_model_len":2048)"));
  CHECK(body.find(R"({"id":"lora-a","object":"model","created":7,"owned_by":"vllm","root":"/adapters/a",)"
                  R"("parent":"base")") != std::string::npos);
}
