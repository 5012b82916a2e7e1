// The Responses API as vLLM's OpenAI server answers it (vllm/entrypoints/openai/
// serving_responses.py, later responses/serving.py and responses/api_router.py): the
// request fields the sim acts on, the response object, and its SSE events.
//   POST /v1/responses            create (stream or not; store; background; previous_response_id)
//   GET  /v1/responses/{id}       a stored response
//   POST /v1/responses/{id}/cancel  a queued or running background response
// vLLM routes no DELETE on /v1/responses/{id}: FastAPI answers it 405 (allow: GET).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ringgate/sim/api_error.h"

namespace ringgate::sim {

// Bounds on what one request may carry (hostile input; vLLM has none of its own).
inline constexpr size_t kMaxResponseInputItems = 4096;
inline constexpr size_t kMaxResponseIdBytes = 256;

struct ChatTurn {
  std::string role;
  std::string text;
};

struct ResponsesRequest {
  std::optional<std::string> model;
  std::optional<std::string> instructions;
  std::vector<ChatTurn> input;  // a string input is one user turn
  std::optional<std::string> previous_response_id;
  bool store = true;  // ResponsesRequest.store defaults to True
  bool background = false;
  bool stream = false;
  std::optional<uint32_t> max_output_tokens;
};

using ParsedResponses = std::variant<ResponsesRequest, ApiError>;
ParsedResponses parse_responses_request(std::string& body);

// ResponseStatus values vLLM sets.
enum class ResponseStatus { queued, in_progress, completed, incomplete, cancelled, failed };
const char* response_status_name(ResponseStatus status);

// One response object, as ResponsesResponse.model_dump() renders it.
struct ResponseRecord {
  std::string id;  // "resp_" + 32 hex digits (vLLM's request_id default)
  uint64_t created_at = 0;
  std::string model;
  std::optional<std::string> instructions;
  std::optional<std::string> previous_response_id;
  std::optional<uint32_t> max_output_tokens;
  bool background = false;
  ResponseStatus status = ResponseStatus::in_progress;
  bool has_output = false;   // an output message (vLLM adds none for empty text)
  std::string item_id;       // "msg_" + 32 hex digits
  std::string text;
  bool has_usage = false;
  uint32_t input_tokens = 0, cached_tokens = 0, output_tokens = 0;
};

void append_response_json(std::string& out, const ResponseRecord& r);

// One SSE event: "event: <type>\ndata: <json>\n\n", as vLLM's _convert_stream_to_sse_events.
// The lifecycle events carry the response (response.created, .in_progress, .completed).
void append_lifecycle_event(std::string& out, std::string_view type, uint64_t sequence, const ResponseRecord& r);
// The simple (non-harmony) text events of the one output message.
void append_item_added_event(std::string& out, uint64_t sequence, const ResponseRecord& r);
void append_part_added_event(std::string& out, uint64_t sequence, const ResponseRecord& r);
void append_text_delta_event(std::string& out, uint64_t sequence, const ResponseRecord& r, uint32_t content_index,
                             std::string_view delta);
// output_text.done, content_part.done, output_item.done with the whole text.
void append_text_done_events(std::string& out, uint64_t& sequence, const ResponseRecord& r, uint32_t content_index);

// vLLM's _make_not_found_error.
ApiError response_not_found(std::string_view id);

}  // namespace ringgate::sim
