// libFuzzer target: the disaggregated request's parts that read what others wrote — the
// prefill answer (a model server's) and the client's body the two legs are built from.
// The params found are a JSON object within the answer, never past the bound; the legs
// built from a body are JSON objects that end with the fields the gateway writes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/openai/disaggregated_request.h"

using namespace ringgate::openai;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string_view params;
  if (read_prefill_answer(text, params) == PrefillAnswerError::None) {
    if (params.empty() || params.front() != '{' || params.back() != '}' || params.size() > kMaxKvTransferParamsBytes ||
        params.data() < text.data() || params.data() + params.size() > text.data() + text.size())
      __builtin_trap();
  } else if (!params.empty()) {
    __builtin_trap();
  }
  std::string out;
  const LegSpec spec{size % 2 == 0, size % 3 == 0 ? std::string_view("\"target\"") : std::string_view()};
  if (build_prefill_request(text, spec, out)) {
    if (out.front() != '{' || !out.ends_with("\"remote_host\":null,\"remote_port\":null}}")) __builtin_trap();
  }
  if (build_decode_request(text, spec, "{\"k\":1}", out)) {
    if (out.front() != '{' || !out.ends_with("\"kv_transfer_params\":{\"k\":1}}")) __builtin_trap();
  }
  return 0;
}
