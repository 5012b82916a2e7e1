#pragma once
// The two legs of a disaggregated (prefill/decode) request, as llm-d's routing sidecar
// writes them for vLLM's NixlConnector:
//   prefill: the client's body with stream false, no stream_options, max_tokens 1 (and
//            max_completion_tokens 1 for a chat) and
//            kv_transfer_params {do_remote_decode: true, do_remote_prefill: false,
//            remote_engine_id/remote_block_ids/remote_host/remote_port: null};
//   decode:  the client's body with the kv_transfer_params the prefill answer returned.
// Every other field is copied as the client wrote it (a client's own kv_transfer_params
// is replaced). Runs once per split request (never on an unsplit one): it parses the
// body whole.
#include <cstddef>
#include <string>
#include <string_view>

namespace ringgate::openai {

// The longest kv_transfer_params taken from a prefill answer (vLLM's lists one block id
// per 16 tokens: a 128k-token prompt's is about 50 KB).
inline constexpr size_t kMaxKvTransferParamsBytes = 256 * 1024;

struct LegSpec {
  bool chat = false;
  std::string_view model_token;  // the JSON string token to send as "model"; empty = as sent
};

// False when `body` is not a JSON object (the leg is not built).
bool build_prefill_request(std::string_view body, const LegSpec& spec, std::string& out);
bool build_decode_request(std::string_view body, const LegSpec& spec, std::string_view kv_transfer_params,
                          std::string& out);

enum class PrefillAnswerError : unsigned char {
  None,
  BadBody,           // not a JSON object
  NoParams,          // no kv_transfer_params object in it
  ParamsTooLong,     // longer than kMaxKvTransferParamsBytes
};
const char* to_string(PrefillAnswerError error);

// The kv_transfer_params object of a prefill answer (a view into `answer`).
PrefillAnswerError read_prefill_answer(std::string_view answer, std::string_view& kv_transfer_params);

}  // namespace ringgate::openai
