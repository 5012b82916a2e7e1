// The parts of an OpenAI completions / chat-completions request body the
// simulator acts on, parsed with simdjson on-demand and checked the way vLLM
// checks them (wrong JSON, missing or mistyped fields give a 400 ApiError).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ringgate/kvevents/media_placeholder.h"
#include "ringgate/sim/api_error.h"

namespace ringgate::sim {

enum class Endpoint { completions, chat_completions };

// Bounds on what one request may ask for (hostile input): vLLM has none of
// its own, so these are generous.
inline constexpr uint32_t kMaxPromptsPerRequest = 1024;
inline constexpr uint32_t kMaxChoicesPerRequest = 1024;  // prompts x n
inline constexpr uint32_t kMaxStopStrings = 64;
inline constexpr uint32_t kMaxLogprobs = 20;  // vLLM's default --max-logprobs is 20

// vLLM's chat rendering switches (ChatCompletionRequest, TokenizeChatRequest).
struct ChatRendering {
  bool add_generation_prompt = true;    // end with the generation prompt ("assistant: ")
  bool continue_final_message = false;  // end inside the final message, for the model to continue it
};

// The sim's own chat template's generation prompt.
inline constexpr std::string_view kGenerationPrompt = "assistant: ";

struct PromptInput {
  // What the tokenizer sees. Completions: the prompt. Chat: every message in
  // order as "role: content\n" (roles included, like a chat template would),
  // then kGenerationPrompt; with continue_final_message, no generation prompt
  // and no "\n" after the final message, so "...user: hi\nassistant: " + output
  // reads the same whether the output was generated or sent back to be continued.
  std::string text;
  // What --mode echo repeats and `echo` prepends: the prompt, or the last chat message's content.
  std::string echo_text;
  // Chat: the request's messages array as sent (JSON), for a model's chat template.
  std::string messages_json;
  // Completions given as token ids: the ids (a model's tokenizer takes them as they are).
  std::vector<uint32_t> token_ids;
  // Chat: the media parts' placeholder runs in `text`'s tokens, in order
  // (kvevents/sim_media_rendering.h): their identifiers go into the block hashes.
  std::vector<kvevents::MediaPlaceholder> media;
};

// kv_transfer_params (vLLM's request field, read by NixlConnector): the keys the sim acts
// on, type-checked (a wrong type is a 400); other keys are ignored.
inline constexpr uint32_t kMaxRemoteBlockIds = 131072;  // a 2M-token prompt of 16-token blocks
inline constexpr size_t kMaxKvTransferStringBytes = 256;  // remote_engine_id, remote_request_id, remote_host
struct KvTransferParams {
  bool present = false;  // an object was given (null or absent: false)
  bool do_remote_decode = false;
  bool do_remote_prefill = false;
  std::vector<uint32_t> remote_block_ids;
  std::optional<std::string> remote_engine_id;
  std::optional<std::string> remote_request_id;
  std::optional<std::string> remote_host;
  std::optional<uint32_t> remote_port;
};

struct CompletionRequest {
  Endpoint endpoint = Endpoint::completions;
  std::optional<std::string> model;  // absent or null: the base model
  std::vector<PromptInput> prompts;  // completions may batch; chat has one
  std::optional<uint32_t> max_tokens;             // max_tokens
  std::optional<uint32_t> max_completion_tokens;  // chat: takes precedence over max_tokens
  uint32_t n = 1;
  std::vector<std::string> stop;
  bool include_stop_str_in_output = false;
  bool echo = false;
  // Completions: logprobs = k (0..20). Chat: logprobs = true, top_logprobs = k.
  std::optional<uint32_t> logprobs;
  bool stream = false;
  bool has_stream_options = false;
  bool include_usage = false;           // stream_options.include_usage (default true when stream_options is given)
  bool continuous_usage_stats = false;  // stream_options.continuous_usage_stats
  bool ignore_eos = false;
  ChatRendering rendering;  // chat
  KvTransferParams kv_transfer;
};

using ParsedRequest = std::variant<CompletionRequest, ApiError>;

// `body` must have room for simdjson's padding; this function reserves it.
// What a chat's media content parts cost (--tokens-per-image / --tokens-per-audio): an
// image_url or input_audio part is a run of that many placeholder tokens of the prompt,
// identified by its `uuid` or a hash of its url / data text, so that the prefix cache
// holds the same image as the same blocks and two images as different ones (vLLM keys
// them by the item's mm_hash in the blocks' extra keys; kvevents/sim_media_rendering.h).
struct MediaTokens {
  uint32_t image = 576;
  uint32_t audio = 750;
};
inline constexpr uint32_t kMaxMediaTokens = 16384;
ParsedRequest parse_completion_request(Endpoint endpoint, std::string& body, MediaTokens media = {});

// POST /detokenize: {"model"?: str, "tokens": [int, ...]}.
inline constexpr size_t kMaxDetokenizeTokens = 1 << 20;
struct DetokenizeRequest {
  std::optional<std::string> model;
  std::vector<uint32_t> tokens;
};
using ParsedDetokenize = std::variant<DetokenizeRequest, ApiError>;
ParsedDetokenize parse_detokenize_request(std::string& body);

// POST /nixl/pull (the sim's stand-in for a NIXL read and its notification): a decode
// sim asks the prefill sim for the blocks it held, which frees them.
// {"remote_engine_id": str, "remote_request_id": str, "remote_block_ids": [int, ...]}.
struct KvPullRequest {
  std::string remote_engine_id;
  std::string remote_request_id;
  std::vector<uint32_t> remote_block_ids;
};
using ParsedKvPull = std::variant<KvPullRequest, ApiError>;
ParsedKvPull parse_kv_pull_request(std::string& body);
std::string kv_pull_request_body(const KvPullRequest& request);

}  // namespace ringgate::sim
