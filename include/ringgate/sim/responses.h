// JSON bodies and SSE events in vLLM's shapes for completions, chat
// completions and /v1/models.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/sim/completion_request.h"
#include "ringgate/sim/sim_metrics.h"

namespace ringgate::sim {

struct ResponseHead {
  Endpoint endpoint = Endpoint::completions;
  std::string id;  // cmpl-<hex> / chatcmpl-<hex>
  uint64_t created = 0;
  std::string model;
};

struct Usage {
  uint32_t prompt_tokens = 0;
  uint32_t completion_tokens = 0;
  uint32_t cached_tokens = 0;
};

// "cmpl-" or "chatcmpl-" followed by 32 hex digits of `random_hi`/`random_lo`.
std::string make_response_id(Endpoint endpoint, uint64_t random_hi, uint64_t random_lo);

// The whole non-streaming body.
void append_full_response(std::string& out, const ResponseHead& head, std::string_view text,
                          FinishReason finish, const Usage& usage);

// One SSE event ("data: {...}\n\n"): a token (chat: `first` adds role
// "assistant"), with finish_reason set on the last one.
void append_token_event(std::string& out, const ResponseHead& head, std::string_view token, bool first,
                        const FinishReason* finish);
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
