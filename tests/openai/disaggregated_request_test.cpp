// The two legs of a disaggregated request: the prefill leg (one token, not streamed,
// asking the server to keep the KV blocks for a remote decoder) and the decode leg (the
// client's request with the blocks' kv_transfer_params).
#include <doctest/doctest.h>

#include <string>

#include "ringgate/openai/disaggregated_request.h"

using namespace ringgate::openai;

namespace {
constexpr std::string_view kRemoteDecode =
    R"("kv_transfer_params":{"do_remote_decode":true,"do_remote_prefill":false,"remote_engine_id":null,)"
    R"("remote_block_ids":null,"remote_host":null,"remote_port":null})";
}

TEST_CASE("prefill leg: one token, not streamed, no stream_options, the remote-decode params; the rest as written") {
  std::string out;
  CHECK(build_prefill_request(R"({"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,)"
                              R"("stream_options":{"include_usage":true},"max_tokens":64,"max_completion_tokens":64,)"
                              R"("temperature":0.5,"kv_transfer_params":{"x":1}})",
                              {.chat = true, .model_token = {}}, out));
  CHECK(out == std::string(R"({"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.5,)"
                           R"("stream":false,"max_tokens":1,"max_completion_tokens":1,)") +
                   std::string(kRemoteDecode) + "}");
  // A completion has no max_completion_tokens of its own: it is copied, not written.
  CHECK(build_prefill_request(R"({"model":"m","prompt":"p"})", {.chat = false, .model_token = R"("target")"}, out));
  CHECK(out == std::string(R"({"model":"target","prompt":"p","stream":false,"max_tokens":1,)") +
                   std::string(kRemoteDecode) + "}");
}

TEST_CASE("decode leg: the client's body with the prefill's params (a client's own replaced), model rewritten") {
  std::string out;
  const std::string_view params = R"({"do_remote_prefill":true,"remote_block_ids":[1,2],"remote_port":8001})";
  CHECK(build_decode_request(R"({"model":"alias","prompt":"p","stream":true,"kv_transfer_params":null})",
                             {.chat = false, .model_token = R"("m")"}, params, out));
  CHECK(out == std::string(R"({"model":"m","prompt":"p","stream":true,"kv_transfer_params":)") + std::string(params) +
                   "}");
  CHECK(build_decode_request("{}", {}, params, out));
  CHECK(out == std::string(R"({"kv_transfer_params":)") + std::string(params) + "}");
}

TEST_CASE("a body that is not a JSON object builds no leg") {
  std::string out;
  CHECK_FALSE(build_prefill_request("[1,2]", {}, out));
  CHECK_FALSE(build_prefill_request(R"({"model":"m")", {}, out));
  CHECK_FALSE(build_prefill_request(R"({"model":"m"} trailing)", {}, out));
  CHECK_FALSE(build_decode_request("", {}, "{}", out));
}

TEST_CASE("the prefill answer's kv_transfer_params: an object, bounded") {
  std::string_view params;
  const std::string answer =
      R"({"id":"cmpl-1","choices":[{"text":"x"}],"kv_transfer_params":{"do_remote_prefill":true,)"
      R"("remote_block_ids":[0,1,2],"remote_engine_id":"e","remote_host":"127.0.0.1","remote_port":8000} ,"usage":{}})";
  CHECK(read_prefill_answer(answer, params) == PrefillAnswerError::None);
  CHECK(params == R"({"do_remote_prefill":true,"remote_block_ids":[0,1,2],"remote_engine_id":"e",)"
                  R"("remote_host":"127.0.0.1","remote_port":8000})");
  CHECK(params.data() >= answer.data());  // a view into the answer itself
  CHECK(read_prefill_answer(R"({"id":"x"})", params) == PrefillAnswerError::NoParams);
  CHECK(read_prefill_answer(R"({"kv_transfer_params":null})", params) == PrefillAnswerError::NoParams);
  CHECK(read_prefill_answer(R"({"kv_transfer_params":[1]})", params) == PrefillAnswerError::NoParams);
  CHECK(read_prefill_answer("not json", params) == PrefillAnswerError::BadBody);
  // Broken inside: on-demand parsing would step over it, the decode leg must not carry it.
  CHECK(read_prefill_answer(R"({"kv_transfer_params":{"a":true[0,1],"b":}})", params) == PrefillAnswerError::BadBody);
  CHECK(read_prefill_answer(R"({"kv_transfer_params":{}} {})", params) == PrefillAnswerError::BadBody);
  std::string huge = R"({"kv_transfer_params":{"remote_block_ids":[)";
  for (size_t i = 0; huge.size() <= kMaxKvTransferParamsBytes + 64; ++i) huge += std::to_string(i) + ",";
  huge += "0]}}";
  CHECK(read_prefill_answer(huge, params) == PrefillAnswerError::ParamsTooLong);
  CHECK(params.empty());
}
