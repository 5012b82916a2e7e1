#include "ringgate/sim/completion_request.h"

#include <simdjson.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "ringgate/kvevents/sim_media_rendering.h"
#include "ringgate/sim/tokenizer.h"
#include "ringgate/util/json_text.h"

namespace ringgate::sim {
namespace {

using simdjson::ondemand::json_type;
using simdjson::ondemand::value;

// Reads a JSON value that must be a string (or, for "optional", null).
bool read_string(value v, std::string& out) {
  std::string_view s;
  if (v.get_string().get(s)) return false;
  out.assign(s);
  return true;
}

// A prompt given as token ids: the sim's tokenizer reads each id as 4 bytes of text.
std::optional<ApiError> read_token_ids(simdjson::ondemand::array arr, PromptInput& out) {
  size_t n = 0;
  for (auto item : arr) {
    uint64_t id = 0;
    if (item.get_uint64().get(id) || id > UINT32_MAX)
      return wrong_type("prompt", "a valid string, array of strings, array of tokens, or array of token arrays");
    append_token_text(out.text, static_cast<uint32_t>(id));
    out.token_ids.push_back(static_cast<uint32_t>(id));
    ++n;
  }
  if (n == 0) return bad("Prompt cannot be empty", "prompt");
  return std::nullopt;
}

// Completions' prompt: a string, a list of strings (a batch), a list of token
// ids, or a list of lists of token ids (a batch).
std::optional<ApiError> read_prompt(value v, CompletionRequest& r) {
  json_type t;
  if (v.type().get(t)) return bad("JSON decode error");
  auto invalid = [] {
    return wrong_type("prompt", "a valid string, array of strings, array of tokens, or array of token arrays");
  };
  if (t == json_type::string) {
    PromptInput p;
    if (!read_string(v, p.text)) return bad("JSON decode error");
    r.prompts.push_back(std::move(p));
  } else if (t == json_type::array) {
    simdjson::ondemand::array arr;
    if (v.get_array().get(arr)) return bad("JSON decode error");
    bool first = true;
    bool ids = false;
    PromptInput id_prompt;
    for (auto item : arr) {
      json_type it;
      if (item.type().get(it)) return bad("JSON decode error");
      if (first) ids = it == json_type::number;
      first = false;
      if (ids) {
        uint64_t id = 0;
        if (it != json_type::number || item.get_uint64().get(id) || id > UINT32_MAX) return invalid();
        append_token_text(id_prompt.text, static_cast<uint32_t>(id));
        id_prompt.token_ids.push_back(static_cast<uint32_t>(id));
        continue;
      }
      if (r.prompts.size() >= kMaxPromptsPerRequest)
        return bad("at most " + std::to_string(kMaxPromptsPerRequest) + " prompts per request", "prompt");
      PromptInput p;
      if (it == json_type::string) {
        std::string_view s;
        if (item.get_string().get(s)) return bad("JSON decode error");
        p.text.assign(s);
      } else if (it == json_type::array) {
        simdjson::ondemand::array inner;
        if (item.get_array().get(inner)) return bad("JSON decode error");
        if (auto err = read_token_ids(inner, p)) return err;
      } else {
        return invalid();
      }
      r.prompts.push_back(std::move(p));
    }
    if (first) return bad("Prompt cannot be empty", "prompt");
    if (ids) r.prompts.push_back(std::move(id_prompt));
  } else {
    return invalid();
  }
  for (auto& p : r.prompts) p.echo_text = p.text;
  return std::nullopt;
}

// A media part read from a message's content: where in the content's text it goes, and
// what it renders to (kvevents/sim_media_rendering.h), once the message's place in the
// prompt is known.
struct PendingMedia {
  size_t at = 0;  // bytes of the content's text before it
  kvevents::SimMediaKind kind = kvevents::SimMediaKind::Image;
  uint32_t tokens = 0;
  std::string identifier;
};

// The text of a media part's value (image_url: "url" or {"url"}; input_audio: {"data"}).
bool media_text(value v, std::string_view field, bool string_ok, std::string_view& out) {
  json_type t;
  if (v.type().get(t)) return false;
  if (t == json_type::string) return string_ok && !v.get_string().get(out);
  simdjson::ondemand::object obj;
  if (t != json_type::object || v.get_object().get(obj)) return false;
  bool found = false;
  for (auto member : obj) {
    std::string_view key;
    if (member.unescaped_key().get(key)) return false;
    if (key == field) found = !member.value().get_string().get(out);
  }
  return found;
}

// Chat content: a string, null, or a list of parts: {"type":"text","text":...}, and media
// ({"type":"image_url",...}, {"type":"input_audio",...}) as `media` says.
std::optional<ApiError> read_content(value v, std::string& out, std::vector<PendingMedia>& pending,
                                     const MediaTokens& media) {
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
    std::string type;
    std::string media_value;  // the last media text of the part (copied: the iteration moves on)
    char media_kind = 0;
    std::optional<std::string> uuid;  // vLLM's multi_modal_uuids: the item's identifier
    for (auto field : obj) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return bad("JSON decode error");
      std::string_view s;
      if (key == "type") {
        if (!field.value().get_string().get(s)) type.assign(s);
      } else if (key == "image_url" || key == "input_audio") {
        const bool image = key == "image_url";
        if (media_text(field.value(), image ? "url" : "data", image, s)) {
          media_value.assign(s);
          media_kind = image ? 1 : 2;
        }
      } else if (key == "text") {
        if (field.value().get_string().get(s)) return wrong_type("messages.content.text", "a valid string");
        out.append(s);
      } else if (key == "uuid") {
        value uv = field.value();
        json_type ut;
        if (uv.type().get(ut)) return bad("JSON decode error");
        if (ut == json_type::null) continue;
        if (ut != json_type::string || uv.get_string().get(s))
          return wrong_type("messages.content.uuid", "a valid string");
        if (s.size() > kvevents::kMaxMediaUuidBytes)
          return bad("messages.content.uuid: longer than " + std::to_string(kvevents::kMaxMediaUuidBytes) + " bytes",
                     "messages");
        uuid.emplace(s);
      }
    }
    if ((type == "image_url" && media_kind == 1) || (type == "input_audio" && media_kind == 2)) {
      const auto kind = kvevents::SimMediaKind(media_kind);
      const uint32_t tokens = std::clamp<uint32_t>(media_kind == 1 ? media.image : media.audio, 1, kMaxMediaTokens);
      pending.push_back(
          {out.size(), kind, tokens, uuid ? std::move(*uuid) : kvevents::sim_media_identifier(kind, media_value)});
    } else if (type == "image_url" || type == "input_audio")
      return bad("messages.content: a " + type + " part without its " + (type == "image_url" ? "url" : "data"),
                 "messages");
  }
  return std::nullopt;
}

// A message's content into `text`: its text with each media part's run where it was.
void append_content(std::string& text, std::string_view content, std::vector<PendingMedia>& pending,
                    std::vector<kvevents::MediaPlaceholder>* runs) {
  size_t done = 0;
  for (PendingMedia& m : pending) {
    text.append(content.substr(done, m.at - done));
    done = m.at;
    kvevents::MediaPlaceholder run = kvevents::append_sim_media(text, m.kind, m.tokens, std::move(m.identifier));
    if (runs) runs->push_back(std::move(run));
  }
  text.append(content.substr(done));
}

std::optional<ApiError> read_messages(value v, CompletionRequest& r, const MediaTokens& media) {
  simdjson::ondemand::array arr;
  json_type t;
  if (v.type().get(t)) return bad("JSON decode error");
  if (t != json_type::array || v.get_array().get(arr)) return wrong_type("messages", "a valid list");
  // The array as sent, for a model's chat template (--tokenizer); reading it consumes
  // the array, so the fields are read from a copy.
  std::string_view raw;
  if (arr.raw_json().get(raw)) return bad("JSON decode error");
  PromptInput prompt;
  prompt.messages_json.assign(raw);
  simdjson::padded_string copy(raw);
  thread_local simdjson::ondemand::parser messages_parser;
  simdjson::ondemand::document messages;
  if (messages_parser.iterate(copy).get(messages) || messages.get_array().get(arr)) return bad("JSON decode error");
  size_t n = 0;
  for (auto item : arr) {
    simdjson::ondemand::object obj;
    if (item.get_object().get(obj)) return wrong_type("messages", "a list of message objects");
    std::string role, content;
    std::vector<PendingMedia> pending;
    bool has_role = false;
    for (auto field : obj) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return bad("JSON decode error");
      if (key == "role") {
        if (!read_string(field.value(), role)) return wrong_type("messages.role", "a valid string");
        has_role = true;
      } else if (key == "content") {
        if (auto err = read_content(field.value(), content, pending, media)) return err;
      }
    }
    if (!has_role) return bad("messages." + std::to_string(n) + ".role: Field required", "messages");
    prompt.text += role;
    prompt.text += ": ";
    std::vector<PendingMedia> echo_media = pending;  // the identifiers are moved into the runs
    append_content(prompt.text, content, pending, &prompt.media);
    prompt.text += '\n';
    prompt.echo_text.clear();
    append_content(prompt.echo_text, content, echo_media, nullptr);
    ++n;
  }
  if (n == 0) return bad("messages: List should have at least 1 item", "messages");
  r.prompts.push_back(std::move(prompt));
  return std::nullopt;
}

// The end of the chat text, once every field is read: the generation prompt, or
// (continue_final_message) the final message left open.
std::optional<ApiError> finish_chat_text(CompletionRequest& r, bool generation_prompt_given) {
  const ChatRendering& how = r.rendering;
  if (how.continue_final_message && how.add_generation_prompt) {
    // vLLM's check_generation_prompt validator sees only fields the client set; with
    // add_generation_prompt left at its default, HF's apply_chat_template refuses.
    if (generation_prompt_given)
      return bad("Value error, Cannot set both `continue_final_message` and `add_generation_prompt` to True.");
    return ApiError{400,
                    "continue_final_message and add_generation_prompt are not compatible. Use "
                    "continue_final_message when you want the model to continue the final message, and "
                    "add_generation_prompt when you want to add a header that will prompt it to start a new "
                    "assistant message instead.",
                    {}};
  }
  std::string& text = r.prompts.front().text;
  if (how.continue_final_message) text.pop_back();  // the final message's "\n"
  else if (how.add_generation_prompt) text += kGenerationPrompt;
  return std::nullopt;
}

// An optional integer with a lower bound (null leaves it unset).
std::optional<ApiError> read_count(value v, std::string_view field, int64_t min_value, std::optional<uint32_t>& out) {
  json_type t;
  if (v.type().get(t)) return bad("JSON decode error");
  if (t == json_type::null) return std::nullopt;
  int64_t n = 0;
  if (t != json_type::number || v.get_int64().get(n)) return wrong_type(field, "a valid integer");
  if (n < min_value)
    return bad(std::string(field) + " must be at least " + std::to_string(min_value) + ", got " + std::to_string(n) +
                   ".",
               std::string(field));
  out = static_cast<uint32_t>(std::min<int64_t>(n, UINT32_MAX));
  return std::nullopt;
}

// `stop`: a string or a list of strings.
std::optional<ApiError> read_stop(value v, CompletionRequest& r) {
  json_type t;
  if (v.type().get(t)) return bad("JSON decode error");
  if (t == json_type::null) return std::nullopt;
  if (t == json_type::string) {
    std::string s;
    if (!read_string(v, s)) return bad("JSON decode error");
    if (!s.empty()) r.stop.push_back(std::move(s));
    return std::nullopt;
  }
  simdjson::ondemand::array arr;
  if (t != json_type::array || v.get_array().get(arr)) return wrong_type("stop", "a valid string or a list of strings");
  for (auto item : arr) {
    std::string_view s;
    if (item.get_string().get(s)) return wrong_type("stop", "a valid string or a list of strings");
    if (r.stop.size() >= kMaxStopStrings)
      return bad("at most " + std::to_string(kMaxStopStrings) + " stop strings", "stop");
    if (!s.empty()) r.stop.emplace_back(s);
  }
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
  r.include_usage = true;  // vLLM's StreamOptions.include_usage defaults to True
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return bad("JSON decode error");
    if (key == "include_usage") {
      if (auto err = read_bool(field.value(), "stream_options.include_usage", r.include_usage)) return err;
    } else if (key == "continuous_usage_stats") {
      if (auto err = read_bool(field.value(), "stream_options.continuous_usage_stats", r.continuous_usage_stats))
        return err;
    }
  }
  return std::nullopt;
}

std::optional<ApiError> read_optional_string(value v, std::string_view field, std::optional<std::string>& out) {
  json_type t;
  if (v.type().get(t)) return bad("JSON decode error");
  if (t == json_type::null) return std::nullopt;
  std::string_view s;
  if (t != json_type::string || v.get_string().get(s)) return wrong_type(field, "a valid string");
  if (s.size() > kMaxKvTransferStringBytes)
    return bad(std::string(field) + ": at most " + std::to_string(kMaxKvTransferStringBytes) + " bytes",
               std::string(field));
  out.emplace(s);
  return std::nullopt;
}

std::optional<ApiError> read_block_ids(value v, std::string_view field, std::vector<uint32_t>& out) {
  json_type t;
  if (v.type().get(t)) return bad("JSON decode error");
  if (t == json_type::null) return std::nullopt;
  simdjson::ondemand::array arr;
  if (t != json_type::array || v.get_array().get(arr)) return wrong_type(field, "a valid list of block ids");
  for (auto item : arr) {
    uint64_t id = 0;
    if (item.get_uint64().get(id) || id > UINT32_MAX) return wrong_type(field, "a valid list of block ids");
    if (out.size() >= kMaxRemoteBlockIds)
      return bad(std::string(field) + ": at most " + std::to_string(kMaxRemoteBlockIds) + " block ids",
                 std::string(field));
    out.push_back(static_cast<uint32_t>(id));
  }
  return std::nullopt;
}

std::optional<ApiError> read_kv_transfer_params(value v, KvTransferParams& p) {
  json_type t;
  if (v.type().get(t)) return bad("JSON decode error");
  if (t == json_type::null) return std::nullopt;
  simdjson::ondemand::object obj;
  if (t != json_type::object || v.get_object().get(obj)) return wrong_type("kv_transfer_params", "a valid dictionary");
  p.present = true;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return bad("JSON decode error");
    value fv;
    if (field.value().get(fv)) return bad("JSON decode error");
    std::optional<ApiError> err;
    if (key == "do_remote_decode") {
      err = read_bool(fv, "kv_transfer_params.do_remote_decode", p.do_remote_decode);
    } else if (key == "do_remote_prefill") {
      err = read_bool(fv, "kv_transfer_params.do_remote_prefill", p.do_remote_prefill);
    } else if (key == "remote_block_ids") {
      err = read_block_ids(fv, "kv_transfer_params.remote_block_ids", p.remote_block_ids);
    } else if (key == "remote_engine_id") {
      err = read_optional_string(fv, "kv_transfer_params.remote_engine_id", p.remote_engine_id);
    } else if (key == "remote_request_id") {
      err = read_optional_string(fv, "kv_transfer_params.remote_request_id", p.remote_request_id);
    } else if (key == "remote_host") {
      err = read_optional_string(fv, "kv_transfer_params.remote_host", p.remote_host);
    } else if (key == "remote_port" || key == "tp_size") {
      std::optional<uint32_t> n;
      err = read_count(fv, "kv_transfer_params." + std::string(key), 0, n);
      if (!err && key == "remote_port" && n) {
        if (*n > 65535) return bad("kv_transfer_params.remote_port: a port 0-65535", "kv_transfer_params");
        p.remote_port = n;
      }
    }
    if (err) return err;
  }
  if (p.do_remote_decode && p.do_remote_prefill)
    return bad("kv_transfer_params: do_remote_decode and do_remote_prefill cannot both be true",
               "kv_transfer_params");
  return std::nullopt;
}

// The body as a JSON object (padded in place), or the error vLLM words for it.
std::optional<ApiError> open_object(simdjson::ondemand::parser& parser, std::string& body,
                                    simdjson::ondemand::document& doc, simdjson::ondemand::object& obj) {
  const size_t size = body.size();
  body.reserve(size + simdjson::SIMDJSON_PADDING);
  if (parser.iterate(simdjson::padded_string_view(body.data(), size, body.capacity())).get(doc))
    return bad("JSON decode error");
  if (doc.get_object().get(obj)) return bad("Input should be a valid dictionary");
  return std::nullopt;
}

}  // namespace

ParsedRequest parse_completion_request(Endpoint endpoint, std::string& body, MediaTokens media) {
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
  bool has_prompt = false, has_stream_options = false, generation_prompt_given = false;
  bool chat_logprobs = false;
  std::optional<uint32_t> top_logprobs, n;
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
      if (t == json_type::null) continue;
      std::string model;
      if (t != json_type::string || !read_string(v, model)) return wrong_type("model", "a valid string");
      r.model = std::move(model);
    } else if (!chat && key == "prompt") {
      err = read_prompt(v, r);
      has_prompt = true;
    } else if (chat && key == "messages") {
      err = read_messages(v, r, media);
      has_prompt = true;
    } else if (key == "max_tokens") {
      err = read_count(v, key, 1, r.max_tokens);
    } else if (chat && key == "max_completion_tokens") {
      err = read_count(v, key, 1, r.max_completion_tokens);
    } else if (key == "n") {
      err = read_count(v, key, 1, n);
    } else if (key == "stop") {
      err = read_stop(v, r);
    } else if (key == "include_stop_str_in_output") {
      err = read_bool(v, key, r.include_stop_str_in_output);
    } else if (key == "echo") {
      err = read_bool(v, key, r.echo);
    } else if (key == "logprobs") {
      if (chat) {
        err = read_bool(v, key, chat_logprobs);
      } else {
        err = read_count(v, key, 0, r.logprobs);
      }
    } else if (chat && key == "top_logprobs") {
      err = read_count(v, key, 0, top_logprobs);
    } else if (key == "stream") {
      err = read_bool(v, "stream", r.stream);
    } else if (key == "stream_options") {
      err = read_stream_options(v, r, has_stream_options);
    } else if (key == "ignore_eos") {
      err = read_bool(v, "ignore_eos", r.ignore_eos);
    } else if (chat && key == "add_generation_prompt") {
      json_type t;
      if (v.type().get(t)) return bad("JSON decode error");
      generation_prompt_given = t != json_type::null;
      err = read_bool(v, key, r.rendering.add_generation_prompt);
    } else if (chat && key == "continue_final_message") {
      err = read_bool(v, key, r.rendering.continue_final_message);
    } else if (key == "kv_transfer_params") {
      err = read_kv_transfer_params(v, r.kv_transfer);
    }
    if (err) return *err;
  }
  // Anything after the top-level object makes the whole body invalid JSON.
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) == simdjson::SUCCESS) return bad("JSON decode error");
  if (!has_prompt) return chat ? bad("messages: Field required", "messages") : bad("prompt: Field required", "prompt");
  r.has_stream_options = has_stream_options;
  if (has_stream_options && !r.stream)
    return bad("Stream options can only be defined when `stream=True`.", "stream_options");
  if (chat) {
    if (auto err = finish_chat_text(r, generation_prompt_given)) return *err;
    if (top_logprobs && !chat_logprobs)
      return bad("when using `top_logprobs`, `logprobs` must be set to true.", "top_logprobs");
    if (chat_logprobs) r.logprobs = top_logprobs.value_or(0);
  }
  if (r.logprobs && *r.logprobs > kMaxLogprobs)
    return bad("Requested sample logprobs of " + std::to_string(*r.logprobs) +
                   ", which is greater than max allowed: " + std::to_string(kMaxLogprobs),
               "logprobs");
  if (n) r.n = *n;
  if (uint64_t(r.n) * r.prompts.size() > kMaxChoicesPerRequest)
    return bad("n times the number of prompts must be at most " + std::to_string(kMaxChoicesPerRequest), "n");
  return r;
}

ParsedDetokenize parse_detokenize_request(std::string& body) {
  static simdjson::ondemand::parser parser;
  DetokenizeRequest r;
  simdjson::ondemand::document doc;
  simdjson::ondemand::object obj;
  if (std::optional<ApiError> err = open_object(parser, body, doc, obj)) return *err;
  bool has_tokens = false;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return bad("JSON decode error");
    value v;
    if (field.value().get(v)) return bad("JSON decode error");
    if (key == "model") {
      json_type t;
      if (v.type().get(t)) return bad("JSON decode error");
      if (t == json_type::null) continue;
      std::string model;
      if (t != json_type::string || !read_string(v, model)) return wrong_type("model", "a valid string");
      r.model = std::move(model);
    } else if (key == "tokens") {
      simdjson::ondemand::array arr;
      if (v.get_array().get(arr)) return wrong_type("tokens", "a valid list");
      for (auto item : arr) {
        uint64_t id = 0;
        if (item.get_uint64().get(id) || id > UINT32_MAX) return wrong_type("tokens", "a list of token ids");
        if (r.tokens.size() >= kMaxDetokenizeTokens) return bad("too many tokens", "tokens");
        r.tokens.push_back(static_cast<uint32_t>(id));
      }
      has_tokens = true;
    }
  }
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) == simdjson::SUCCESS) return bad("JSON decode error");
  if (!has_tokens) return bad("tokens: Field required", "tokens");
  return r;
}

ParsedKvPull parse_kv_pull_request(std::string& body) {
  static simdjson::ondemand::parser parser;
  KvPullRequest r;
  simdjson::ondemand::document doc;
  simdjson::ondemand::object obj;
  if (std::optional<ApiError> err = open_object(parser, body, doc, obj)) return *err;
  std::optional<std::string> engine, request;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return bad("JSON decode error");
    value v;
    if (field.value().get(v)) return bad("JSON decode error");
    std::optional<ApiError> err;
    if (key == "remote_engine_id") err = read_optional_string(v, key, engine);
    else if (key == "remote_request_id") err = read_optional_string(v, key, request);
    else if (key == "remote_block_ids") err = read_block_ids(v, key, r.remote_block_ids);
    if (err) return *err;
  }
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) == simdjson::SUCCESS) return bad("JSON decode error");
  if (!engine) return bad("remote_engine_id: Field required", "remote_engine_id");
  if (!request) return bad("remote_request_id: Field required", "remote_request_id");
  r.remote_engine_id = std::move(*engine);
  r.remote_request_id = std::move(*request);
  return r;
}

std::string kv_pull_request_body(const KvPullRequest& request) {
  std::string body = "{\"remote_engine_id\":";
  util::append_json_string(body, request.remote_engine_id);
  body += ",\"remote_request_id\":";
  util::append_json_string(body, request.remote_request_id);
  body += ",\"remote_block_ids\":[";
  for (size_t i = 0; i < request.remote_block_ids.size(); ++i) {
    if (i) body += ',';
    util::append_uint(body, request.remote_block_ids[i]);
  }
  body += "]}";
  return body;
}

}  // namespace ringgate::sim
