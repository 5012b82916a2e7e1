#pragma once
// The request that continues a stream on another server after its first server broke
// (NVIDIA Dynamo's request migration, for a plain vLLM fleet): the client's own body
// with the output generated so far appended and the token budget reduced by it.
//   completions: prompt = prompt + text so far; max_tokens (vLLM's default 16 when
//                absent) and min_tokens reduced.
//   chat:        messages + {"role":"assistant","content":text so far}, with
//                continue_final_message: true and add_generation_prompt: false (vLLM's
//                way to let the model go on with its own message); max_tokens /
//                max_completion_tokens and min_tokens reduced.
// Every other field is copied as the client wrote it. Requests whose continuation could
// not be exact are refused with the reason (a metric label): several choices (n,
// best_of), logprobs, echo, guided decoding (response_format, guided_*, structured
// outputs, a required tool), a prompt that is not one text, a chat that already
// continues a final message, or no tokens left in the budget.
//
// Runs only when a stream breaks (never per request): it parses the body whole.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ringgate/openai/migration_reason.h"

namespace ringgate::openai {

struct ContinuationSpec {
  bool chat = false;
  std::string_view model_token;  // the JSON string token to send as "model" (the rewritten target); empty = as sent
  std::string_view text;         // generated so far, unescaped
  uint64_t tokens = 0;           // generated so far
};

// Writes the continuation of `body` (the client's request) into `out`; nullopt when it is
// exact, else what keeps it from being so (one of the request's MigrationReasons).
std::optional<MigrationReason> build_continuation(std::string_view body, const ContinuationSpec& spec,
                                                  std::string& out);

}  // namespace ringgate::openai
