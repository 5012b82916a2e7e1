#include "ringgate/sim/responses.h"

#include <doctest/doctest.h>

#include "ringgate/sim/api_error.h"

using namespace ringgate::sim;

TEST_CASE("ids look like vLLM's") {
  CHECK(make_response_id(Endpoint::completions, 1, 2) == "cmpl-00000000000000010000000000000002");
  CHECK(make_response_id(Endpoint::chat_completions, 0, 0).starts_with("chatcmpl-"));
}

TEST_CASE("full completion body: every field vLLM v0.12 dumps, nulls included") {
  ResponseHead h{Endpoint::completions, "cmpl-1", 5, "m"};
  std::string out;
  FinishReason length = FinishReason::length;
  ChoiceView c;
  c.text = "a\"b\n";
  c.finish = &length;
  append_full_response(out, h, {c}, Usage{3, 2, std::nullopt});
  CHECK(out ==
        R"({"id":"cmpl-1","object":"text_completion","created":5,"model":"m","choices":[{"index":0,"text":"a\"b\n",)"
        R"("logprobs":null,"finish_reason":"length","stop_reason":null,"token_ids":null,"prompt_logprobs":null,)"
        R"("prompt_token_ids":null}],"service_tier":null,"system_fingerprint":null,"usage":{"prompt_tokens":3,)"
        R"("total_tokens":5,"completion_tokens":2,"prompt_tokens_details":null},"kv_transfer_params":null})");
  out.clear();
  std::string stop = "\n\n";
  FinishReason stopped = FinishReason::stop;
  c.finish = &stopped;
  c.stop_reason = &stop;
  append_full_response(out, h, {c}, Usage{3, 2, 1});
  CHECK(out.find(R"("finish_reason":"stop","stop_reason":"\n\n")") != std::string::npos);
  CHECK(out.find(R"("prompt_tokens_details":{"cached_tokens":1}})") != std::string::npos);
}

TEST_CASE("chat chunks: a role-only first chunk, finish_reason and stop_reason on the last, usage chunk") {
  ResponseHead h{Endpoint::chat_completions, "chatcmpl-1", 5, "m"};
  std::string role, first, last, usage;
  append_chat_role_event(role, h, 0, nullptr);
  ChoiceView c;
  c.text = "hi";
  append_token_event(first, h, c, nullptr);
  FinishReason stop = FinishReason::stop;
  c.text = "!";
  c.finish = &stop;
  append_token_event(last, h, c, nullptr);
  append_usage_event(usage, h, Usage{1, 2, std::nullopt});
  CHECK(role == "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"m\","
                "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,"
                "\"finish_reason\":null}]}\n\n");
  CHECK(first == "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"m\","
                 "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"logprobs\":null,"
                 "\"finish_reason\":null}]}\n\n");
  CHECK(last.find(R"("delta":{"content":"!"},"logprobs":null,"finish_reason":"stop","stop_reason":null}]})") !=
        std::string::npos);
  CHECK(usage == "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"m\","
                 "\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"total_tokens\":3,\"completion_tokens\":2}}\n\n");
}

TEST_CASE("completion chunks are dumped whole; continuous usage rides on each") {
  ResponseHead h{Endpoint::completions, "cmpl-1", 5, "m"};
  ChoiceView c;
  c.index = 1;
  c.text = " x";
  std::string plain, with_usage;
  append_token_event(plain, h, c, nullptr);
  Usage u{4, 1, std::nullopt};
  append_token_event(with_usage, h, c, &u);
  CHECK(plain == "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":5,\"model\":\"m\",\"choices\":"
                 "[{\"index\":1,\"text\":\" x\",\"logprobs\":null,\"finish_reason\":null,\"stop_reason\":null}],"
                 "\"usage\":null}\n\n");
  CHECK(with_usage.find(R"("usage":{"prompt_tokens":4,"total_tokens":5,"completion_tokens":1,)"
                        R"("prompt_tokens_details":null}})") != std::string::npos);
}

TEST_CASE("errors have vLLM's shape") {
  CHECK(error_body({404, "The model `x` does not exist.", "model"}) ==
        R"({"error":{"message":"The model `x` does not exist.","type":"NotFoundError","param":"model","code":404}})");
  CHECK(error_body({400, "bad", {}}) ==
        R"({"error":{"message":"bad","type":"BadRequestError","param":null,"code":400}})");
  CHECK(error_body({429, "full", {}}).find(R"("type":"Too Many Requests")") != std::string::npos);
  CHECK(error_body(validation_error("x")) == R"({"error":{"message":"x","type":"Bad Request","param":null,"code":400}})");
  CHECK(error_body({404, "Not Found", {}, "Not Found"}).find(R"("type":"Not Found")") != std::string::npos);
}

TEST_CASE("models list: base with null parent, adapters with root and parent") {
  std::string body = models_body({{"base", "base", {}}, {"lora-a", "/adapters/a", "base"}}, 7, 2048);
  CHECK(body.starts_with(R"({"object":"list","data":[{"id":"base","object":"model","created":7,"owned_by":"vllm",)"
                         R"("root":"base","parent":null,"max_model_len":2048)"));
  CHECK(body.find(R"({"id":"lora-a","object":"model","created":7,"owned_by":"vllm","root":"/adapters/a",)"
                  R"("parent":"base")") != std::string::npos);
}
