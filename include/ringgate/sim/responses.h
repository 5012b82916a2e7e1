// JSON bodies and SSE events in vLLM's shapes (v0.12, the newest; see
// src/sim/README.md) for completions, chat completions, /v1/models and the
// tokenizer routes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/sim/completion_request.h"
#include "ringgate/sim/sim_metrics.h"

namespace ringgate::sim {

struct ResponseHead {
  Endpoint endpoint = Endpoint::completions;
  std::string id;  // cmpl-<hex> / chatcmpl-<hex>, or the prefix + X-Request-Id
  uint64_t created = 0;
  std::string model;
  bool token_id_fields = true;  // v0.12's token_ids / prompt_token_ids nulls (--vllm-version 0.10: none)
};

struct Usage {
  uint32_t prompt_tokens = 0;
  uint32_t completion_tokens = 0;
  // prompt_tokens_details.cached_tokens: only with --enable-prompt-tokens-details and > 0.
  std::optional<uint32_t> cached_tokens;
};

// Logprobs of the tokens of one choice (or one event), faked but well-formed.
struct LogprobsView {
  const std::vector<std::string_view>* tokens = nullptr;  // null: "logprobs": null
  size_t first = 0;         // tokens[first, last)
  size_t last = 0;
  uint32_t top = 0;         // top alternatives per token
  size_t text_offset = 0;   // completions: text offset of tokens[first]
};

// One choice of a response or of a stream event.
struct ChoiceView {
  uint32_t index = 0;
  std::string_view text;            // whole text, or this event's delta
  const FinishReason* finish = nullptr;  // null: not finished (null in JSON)
  const std::string* stop_reason = nullptr;  // null or empty: null
  LogprobsView logprobs;
};

// "cmpl-" or "chatcmpl-" followed by 32 hex digits of `random_hi`/`random_lo`.
std::string make_response_id(Endpoint endpoint, uint64_t random_hi, uint64_t random_lo);

// The whole non-streaming body. `kv_transfer_params`: a JSON object, or empty for null.
void append_full_response(std::string& out, const ResponseHead& head, const std::vector<ChoiceView>& choices,
                          const Usage& usage, std::string_view kv_transfer_params = {});

// SSE events ("data: {...}\n\n"). `usage`: continuous_usage_stats, else null.
// Chat: the first event of each choice carries only role "assistant" and "" content.
void append_chat_role_event(std::string& out, const ResponseHead& head, uint32_t index, const Usage* usage);
void append_token_event(std::string& out, const ResponseHead& head, const ChoiceView& choice, const Usage* usage);
// The usage event of stream_options.include_usage: empty choices.
void append_usage_event(std::string& out, const ResponseHead& head, const Usage& usage);
inline constexpr std::string_view kDoneEvent = "data: [DONE]\n\n";

struct ModelEntry {
  std::string id;
  std::string root;
  std::string parent;  // empty: null (a base model)
};
std::string models_body(const std::vector<ModelEntry>& models, uint64_t created, uint32_t max_model_len);

}  // namespace ringgate::sim
