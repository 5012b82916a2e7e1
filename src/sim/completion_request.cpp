#include "ringgate/sim/completion_request.h"

#include <simdjson.h>

namespace ringgate::sim {
namespace {

using simdjson::ondemand::json_type;
using simdjson::ondemand::value;

ApiError bad(std::string message, std::string param = {}) { return ApiError{400, std::move(message), std::move(param)}; }

ApiError wrong_type(std::string_view field, const char* expected) {
  return bad(std::string(field) + ": Input should be " + expected, std::string(field));
}

// Reads a JSON value that must be a string (or, for "optional", null).
bool read_string(value v, std::string& out) {
  std::string_view s;
  if (v.get_string().get(s)) return false;
  out.assign(s);
  return true;
}

// Completions' prompt: a string, or a list of strings (joined).
std::optional<ApiError> read_prompt(value v, CompletionRequest& r) {
  json_type t;
  if (v.type().get(t)) return bad("JSON decode error");
  if (t == json_type::string) {
    if (!read_string(v, r.prompt_text)) return bad("JSON decode error");
  } else if (t == json_type::array) {
    simdjson::ondemand::array arr;
    if (v.get_array().get(arr)) return bad("JSON decode error");
    size_t n = 0;
    for (auto item : arr) {
      std::string_view s;
      if (item.get_string().get(s)) return wrong_type("prompt", "a valid string or a list of strings");
      r.prompt_text.append(s);
      ++n;
    }
    if (n == 0) return bad("prompt: the prompt list must not be empty", "prompt");
  } else {
    return wrong_type("prompt", "a valid string or a list of strings");
  }
  r.echo_text = r.prompt_text;
  return std::nullopt;
}

// Chat content: a string, null, or a list of {"type":"text","text":...} parts.
std::optional<ApiError> read_content(value v, std::string& out) {
  json_type t;
  if (v.type().get(t)) return bad("JSON decode error");
  if (t == json_type::null) return std::nullopt;
  if (t == json_type::string) {
    std::string_view s;
    if (v.get_string().get(s)) return bad("JSON decode error");
    out.append(s);
    return std::nullopt;
  }
  if (t != json_type::array) return wrong_type("messages.content", "a valid string or a list of content parts");
  simdjson::ondemand::array parts;
  if (v.get_array().get(parts)) return bad("JSON decode error");
  for (auto part : parts) {
    simdjson::ondemand::object obj;
    if (part.get_object().get(obj)) return wrong_type("messages.content", "a list of content parts");
    for (auto field : obj) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return bad("JSON decode error");
      if (key != "text") continue;
      std::string_view s;
      if (field.value().get_string().get(s)) return wrong_type("messages.content.text", "a valid string");
      out.append(s);
    }
  }
  return std::nullopt;
}

std::optional<ApiError> read_messages(value v, CompletionRequest& r) {
  simdjson::ondemand::array arr;
  json_type t;
  if (v.type().get(t)) return bad("JSON decode error");
  if (t != json_type::array || v.get_array().get(arr)) return wrong_type("messages", "a valid list");
  size_t n = 0;
  for (auto item : arr) {
    simdjson::ondemand::object obj;
    if (item.get_object().get(obj)) return wrong_type("messages", "a list of message objects");
    std::string role, content;
    bool has_role = false;
    for (auto field : obj) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return bad("JSON decode error");
      if (key == "role") {
        if (!read_string(field.value(), role)) return wrong_type("messages.role", "a valid string");
        has_role = true;
      } else if (key == "content") {
        if (auto err = read_content(field.value(), content)) return err;
      }
    }
    if (!has_role) return bad("messages." + std::to_string(n) + ".role: Field required", "messages");
    r.prompt_text += role;
    r.prompt_text += ": ";
    r.prompt_text += content;
    r.prompt_text += '\n';
    r.echo_text = std::move(content);
    ++n;
  }
  if (n == 0) return bad("messages: List should have at least 1 item", "messages");
  return std::nullopt;
}

std::optional<ApiError> read_max_tokens(value v, std::string_view field, CompletionRequest& r) {
  json_type t;
  if (v.type().get(t)) return bad("JSON decode error");
  if (t == json_type::null) return std::nullopt;
  int64_t n = 0;
  if (t != json_type::number || v.get_int64().get(n)) return wrong_type(field, "a valid integer");
  if (n < 1) return bad(std::string(field) + " must be at least 1, got " + std::to_string(n) + ".", std::string(field));
  r.max_tokens = static_cast<uint32_t>(std::min<int64_t>(n, UINT32_MAX));
  return std::nullopt;
}

std::optional<ApiError> read_bool(value v, std::string_view field, bool& out) {
  json_type t;
  if (v.type().get(t)) return bad("JSON decode error");
  if (t == json_type::null) return std::nullopt;
  if (t != json_type::boolean || v.get_bool().get(out)) return wrong_type(field, "a valid boolean");
  return std::nullopt;
}

std::optional<ApiError> read_stream_options(value v, CompletionRequest& r, bool& present) {
  json_type t;
  if (v.type().get(t)) return bad("JSON decode error");
  if (t == json_type::null) return std::nullopt;
  simdjson::ondemand::object obj;
  if (t != json_type::object || v.get_object().get(obj)) return wrong_type("stream_options", "a valid dictionary");
  present = true;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return bad("JSON decode error");
    if (key == "include_usage")
      if (auto err = read_bool(field.value(), "stream_options.include_usage", r.include_usage)) return err;
  }
  return std::nullopt;
}

}  // namespace

ParsedRequest parse_completion_request(Endpoint endpoint, std::string& body) {
  static simdjson::ondemand::parser parser;
  CompletionRequest r;
  r.endpoint = endpoint;
  const size_t size = body.size();
  body.reserve(size + simdjson::SIMDJSON_PADDING);
  simdjson::ondemand::document doc;
  if (parser.iterate(simdjson::padded_string_view(body.data(), size, body.capacity())).get(doc))
    return bad("JSON decode error");
  simdjson::ondemand::object obj;
  json_type top;
  if (doc.type().get(top)) return bad("JSON decode error");
  if (top != json_type::object) return bad("Input should be a valid dictionary");
  if (doc.get_object().get(obj)) return bad("JSON decode error");
  bool has_model = false, has_prompt = false, has_stream_options = false;
  const bool chat = endpoint == Endpoint::chat_completions;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return bad("JSON decode error");
    value v;
    if (field.value().get(v)) return bad("JSON decode error");
    std::optional<ApiError> err;
    if (key == "model") {
      json_type t;
      if (v.type().get(t)) return bad("JSON decode error");
      if (t != json_type::string || !read_string(v, r.model)) return wrong_type("model", "a valid string");
      has_model = true;
    } else if (!chat && key == "prompt") {
      err = read_prompt(v, r);
      has_prompt = true;
    } else if (chat && key == "messages") {
      err = read_messages(v, r);
      has_prompt = true;
    } else if (key == "max_tokens" || key == "max_completion_tokens") {
      err = read_max_tokens(v, key, r);
    } else if (key == "stream") {
      err = read_bool(v, "stream", r.stream);
    } else if (key == "stream_options") {
      err = read_stream_options(v, r, has_stream_options);
    } else if (key == "ignore_eos") {
      err = read_bool(v, "ignore_eos", r.ignore_eos);
    }
    if (err) return *err;
  }
  // Anything after the top-level object makes the whole body invalid JSON.
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) == simdjson::SUCCESS) return bad("JSON decode error");
  if (!has_model) return bad("model: Field required", "model");
  if (!has_prompt) return chat ? bad("messages: Field required", "messages") : bad("prompt: Field required", "prompt");
  if (has_stream_options && !r.stream)
    return bad("Stream options can only be defined when `stream=True`.", "stream_options");
  return r;
}

}  // namespace ringgate::sim
