#include "ringgate/sim/responses_api.h"

#include <simdjson.h>

#include "ringgate/util/json_text.h"

namespace ringgate::sim {
namespace {

using simdjson::ondemand::json_type;
using simdjson::ondemand::value;

// A string, or null (unset); false for any other type.
bool read_optional_string(value v, std::optional<std::string>& out) {
  json_type t;
  if (v.type().get(t)) return false;
  if (t == json_type::null) return true;
  std::string_view s;
  if (t != json_type::string || v.get_string().get(s)) return false;
  out.emplace(s);
  return true;
}

bool read_bool(value v, bool& out) {
  json_type t;
  if (v.type().get(t)) return false;
  if (t == json_type::null) return true;
  return t == json_type::boolean && !v.get_bool().get(out);
}

// content: "text" | [{"type": "input_text" | "output_text", "text": "..."}, ...]
std::optional<ApiError> read_content(value v, std::string& out) {
  json_type t;
  if (v.type().get(t)) return bad("JSON decode error");
  if (t == json_type::string) {
    std::string_view s;
    if (v.get_string().get(s)) return bad("JSON decode error");
    out.append(s);
    return std::nullopt;
  }
  if (t != json_type::array) return wrong_type("input.content", "a valid string or a list of content parts");
  simdjson::ondemand::array parts;
  if (v.get_array().get(parts)) return bad("JSON decode error");
  for (auto part : parts) {
    simdjson::ondemand::object obj;
    if (part.get_object().get(obj)) return wrong_type("input.content", "a list of content parts");
    for (auto field : obj) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return bad("JSON decode error");
      if (key != "text") continue;
      std::string_view s;
      if (field.value().get_string().get(s)) return wrong_type("input.content.text", "a valid string");
      out.append(s);
    }
  }
  return std::nullopt;
}

std::optional<ApiError> read_input(value v, ResponsesRequest& r) {
  json_type t;
  if (v.type().get(t)) return bad("JSON decode error");
  if (t == json_type::string) {
    std::string_view s;
    if (v.get_string().get(s)) return bad("JSON decode error");
    r.input.push_back({"user", std::string(s)});
    return std::nullopt;
  }
  if (t != json_type::array) return wrong_type("input", "a valid string or a list of input items");
  simdjson::ondemand::array items;
  if (v.get_array().get(items)) return bad("JSON decode error");
  for (auto item : items) {
    if (r.input.size() == kMaxResponseInputItems)
      return bad("input: at most " + std::to_string(kMaxResponseInputItems) + " items", "input");
    simdjson::ondemand::object obj;
    if (item.get_object().get(obj)) return wrong_type("input", "a list of input items");
    ChatTurn turn{"user", {}};
    for (auto field : obj) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return bad("JSON decode error");
      if (key == "role") {
        std::string_view role;
        if (field.value().get_string().get(role)) return wrong_type("input.role", "a valid string");
        turn.role.assign(role);
      } else if (key == "content") {
        if (auto error = read_content(field.value(), turn.text)) return error;
      }
    }
    r.input.push_back(std::move(turn));
  }
  return std::nullopt;
}

void append_optional(std::string& out, const std::optional<std::string>& v) {
  if (v) util::append_json_string(out, *v);
  else out += "null";
}

void append_output_item(std::string& out, const ResponseRecord& r, bool done) {
  out += "{\"id\":";
  util::append_json_string(out, r.item_id);
  out += ",\"content\":[";
  if (done) {
    out += "{\"annotations\":[],\"text\":";
    util::append_json_string(out, r.text);
    out += ",\"type\":\"output_text\",\"logprobs\":null}";
  }
  out += done ? "],\"role\":\"assistant\",\"status\":\"completed\",\"type\":\"message\"}"
              : "],\"role\":\"assistant\",\"status\":\"in_progress\",\"type\":\"message\"}";
}

void event_head(std::string& out, std::string_view type) {
  out += "event: ";
  out += type;
  out += "\ndata: {";
}

void event_tail(std::string& out, std::string_view type, uint64_t sequence) {
  out += ",\"sequence_number\":";
  util::append_uint(out, sequence);
  out += ",\"type\":\"";
  out += type;
  out += "\"}\n\n";
}

}  // namespace

ParsedResponses parse_responses_request(std::string& body) {
  body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  thread_local simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  simdjson::ondemand::object root;
  if (parser.iterate(body.data(), body.size(), body.capacity()).get(doc) || doc.get_object().get(root))
    return bad("JSON decode error");
  ResponsesRequest r;
  bool has_input = false;
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return bad("JSON decode error");
    value v;
    if (field.value().get(v)) return bad("JSON decode error");
    if (key == "model") {
      if (!read_optional_string(v, r.model)) return wrong_type("model", "a valid string");
    } else if (key == "instructions") {
      if (!read_optional_string(v, r.instructions)) return wrong_type("instructions", "a valid string");
    } else if (key == "previous_response_id") {
      if (!read_optional_string(v, r.previous_response_id)) return wrong_type("previous_response_id", "a valid string");
    } else if (key == "input") {
      if (auto error = read_input(v, r)) return *error;
      has_input = true;
    } else if (key == "store") {
      if (!read_bool(v, r.store)) return wrong_type("store", "a valid boolean");
    } else if (key == "background") {
      if (!read_bool(v, r.background)) return wrong_type("background", "a valid boolean");
    } else if (key == "stream") {
      if (!read_bool(v, r.stream)) return wrong_type("stream", "a valid boolean");
    } else if (key == "max_output_tokens") {
      json_type t;
      if (v.type().get(t)) return bad("JSON decode error");
      if (t == json_type::null) continue;
      int64_t n = 0;
      if (t != json_type::number || v.get_int64().get(n)) return wrong_type("max_output_tokens", "a valid integer");
      if (n < 1) return bad("max_output_tokens: Input should be greater than or equal to 1", "max_output_tokens");
      r.max_output_tokens = uint32_t(std::min<int64_t>(n, UINT32_MAX));
    }
  }
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return bad("JSON decode error");
  if (!has_input) return bad("input: Field required", "input");
  // ResponsesRequest.validate_background (a model validator: pydantic's "Value error, ").
  if (r.background && !r.store) return bad("Value error, background can only be used when `store` is true");
  return r;
}

const char* response_status_name(ResponseStatus status) {
  switch (status) {
    case ResponseStatus::queued: return "queued";
    case ResponseStatus::in_progress: return "in_progress";
    case ResponseStatus::completed: return "completed";
    case ResponseStatus::incomplete: return "incomplete";
    case ResponseStatus::cancelled: return "cancelled";
    case ResponseStatus::failed: return "failed";
  }
  return "failed";
}

void append_response_json(std::string& out, const ResponseRecord& r) {
  out += "{\"id\":";
  util::append_json_string(out, r.id);
  out += ",\"created_at\":";
  util::append_uint(out, r.created_at);
  out += ",\"incomplete_details\":null,\"instructions\":";
  append_optional(out, r.instructions);
  out += ",\"metadata\":null,\"model\":";
  util::append_json_string(out, r.model);
  out += ",\"object\":\"response\",\"output\":[";
  if (r.has_output) append_output_item(out, r, true);
  out += "],\"parallel_tool_calls\":true,\"temperature\":1.0,\"tool_choice\":\"auto\",\"tools\":[],\"top_p\":1.0,"
         "\"background\":";
  out += r.background ? "true" : "false";
  out += ",\"max_output_tokens\":";
  if (r.max_output_tokens) util::append_uint(out, *r.max_output_tokens);
  else out += "null";
  out += ",\"max_tool_calls\":null,\"previous_response_id\":";
  append_optional(out, r.previous_response_id);
  out += ",\"prompt\":null,\"reasoning\":null,\"service_tier\":\"auto\",\"status\":\"";
  out += response_status_name(r.status);
  out += "\",\"text\":null,\"top_logprobs\":0,\"truncation\":\"disabled\",\"usage\":";
  if (r.has_usage) {
    out += "{\"input_tokens\":";
    util::append_uint(out, r.input_tokens);
    out += ",\"input_tokens_details\":{\"cached_tokens\":";
    util::append_uint(out, r.cached_tokens);
    out += "},\"output_tokens\":";
    util::append_uint(out, r.output_tokens);
    out += ",\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":";
    util::append_uint(out, uint64_t(r.input_tokens) + r.output_tokens);
    out += '}';
  } else {
    out += "null";
  }
  out += ",\"user\":null}";
}

void append_lifecycle_event(std::string& out, std::string_view type, uint64_t sequence, const ResponseRecord& r) {
  event_head(out, type);
  out += "\"response\":";
  append_response_json(out, r);
  event_tail(out, type, sequence);
}

void append_item_added_event(std::string& out, uint64_t sequence, const ResponseRecord& r) {
  constexpr std::string_view kType = "response.output_item.added";
  event_head(out, kType);
  out += "\"item\":";
  append_output_item(out, r, false);
  out += ",\"output_index\":0";
  event_tail(out, kType, sequence);
}

void append_part_added_event(std::string& out, uint64_t sequence, const ResponseRecord& r) {
  constexpr std::string_view kType = "response.content_part.added";
  event_head(out, kType);
  out += "\"content_index\":0,\"item_id\":";
  util::append_json_string(out, r.item_id);
  out += ",\"output_index\":0,\"part\":{\"annotations\":[],\"text\":\"\",\"type\":\"output_text\",\"logprobs\":[]}";
  event_tail(out, kType, sequence);
}

void append_text_delta_event(std::string& out, uint64_t sequence, const ResponseRecord& r, uint32_t content_index,
                             std::string_view delta) {
  constexpr std::string_view kType = "response.output_text.delta";
  event_head(out, kType);
  out += "\"content_index\":";
  util::append_uint(out, content_index);
  out += ",\"delta\":";
  util::append_json_string(out, delta);
  out += ",\"item_id\":";
  util::append_json_string(out, r.item_id);
  out += ",\"logprobs\":[],\"output_index\":0";
  event_tail(out, kType, sequence);
}

void append_text_done_events(std::string& out, uint64_t& sequence, const ResponseRecord& r, uint32_t content_index) {
  constexpr std::string_view kText = "response.output_text.done", kPart = "response.content_part.done",
                             kItem = "response.output_item.done";
  event_head(out, kText);
  out += "\"content_index\":";
  util::append_uint(out, content_index);
  out += ",\"item_id\":";
  util::append_json_string(out, r.item_id);
  out += ",\"logprobs\":[],\"output_index\":0,\"text\":";
  util::append_json_string(out, r.text);
  event_tail(out, kText, sequence++);
  event_head(out, kPart);
  out += "\"content_index\":";
  util::append_uint(out, content_index + 1);
  out += ",\"item_id\":";
  util::append_json_string(out, r.item_id);
  out += ",\"output_index\":0,\"part\":{\"annotations\":[],\"text\":";
  util::append_json_string(out, r.text);
  out += ",\"type\":\"output_text\",\"logprobs\":null}";
  event_tail(out, kPart, sequence++);
  event_head(out, kItem);
  out += "\"item\":";
  append_output_item(out, r, true);
  out += ",\"output_index\":0";
  event_tail(out, kItem, sequence++);
}

ApiError response_not_found(std::string_view id) {
  return ApiError{404, "Response with id '" + std::string(id) + "' not found.", {}, "invalid_request_error"};
}

}  // namespace ringgate::sim
