// The parts of an OpenAI completions / chat-completions request body the
// simulator acts on, parsed with simdjson on-demand and checked the way vLLM
// checks them (wrong JSON, missing or mistyped fields give a 400 ApiError).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "ringgate/sim/api_error.h"

namespace ringgate::sim {

enum class Endpoint { completions, chat_completions };

struct CompletionRequest {
  Endpoint endpoint = Endpoint::completions;
  std::string model;
  // What the tokenizer sees. Completions: the prompt. Chat: every message in
  // order as "role: content\n" (roles included, like a chat template would).
  std::string prompt_text;
  // What --mode echo repeats: the prompt, or the last chat message's content.
  std::string echo_text;
  std::optional<uint32_t> max_tokens;  // max_tokens or max_completion_tokens
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool ignore_eos = false;
};

using ParsedRequest = std::variant<CompletionRequest, ApiError>;

// `body` must have room for simdjson's padding; this function reserves it.
ParsedRequest parse_completion_request(Endpoint endpoint, std::string& body);

}  // namespace ringgate::sim
