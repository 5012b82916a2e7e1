#include "ringgate/openai/continuation_request.h"

#include <simdjson.h>

#include "ondemand_raw.h"
#include "ringgate/util/json_text.h"

namespace ringgate::openai {

namespace od = simdjson::ondemand;
using simdjson::SUCCESS;
using detail::is_null;
using detail::raw_json_of;

namespace {

constexpr uint64_t kCompletionsDefaultMaxTokens = 16;  // vLLM's, when a completion names none

// A count field; absent (null) leaves `out` unchanged. False: not a non-negative integer.
bool read_count(od::value& v, uint64_t& out, bool& present) {
  if (is_null(v)) return true;
  int64_t n = 0;
  if (v.get_int64().get(n) != SUCCESS || n < 0) return false;
  out = uint64_t(n);
  present = true;
  return true;
}

// True when the value asks for something a continuation cannot carry exactly
// (null, false, 0 and "" ask for nothing).
bool asks_for_something(od::value& v) {
  od::json_type type;
  if (v.type().get(type) != SUCCESS) return true;
  switch (type) {
    case od::json_type::null: return false;
    case od::json_type::boolean: {
      bool b = false;
      return v.get_bool().get(b) != SUCCESS || b;
    }
    case od::json_type::string: {
      std::string_view s;
      return v.get_string().get(s) != SUCCESS || !s.empty();
    }
    default: return true;
  }
}

void append_count(std::string& out, std::string_view key, uint64_t n) {
  util::append_json_member(out, key, {});
  util::append_uint(out, n);
}

}  // namespace

std::optional<MigrationReason> build_continuation(std::string_view body, const ContinuationSpec& spec,
                                                  std::string& out) {
  out.clear();
  const simdjson::padded_string padded(body);
  od::parser parser;
  od::document doc;
  od::object object;
  if (parser.iterate(padded).get(doc) != SUCCESS || doc.get_object().get(object) != SUCCESS)
    return MigrationReason::BadBody;
  const auto bad = MigrationReason::BadBody;
  out += '{';
  bool prompt_seen = false;
  uint64_t max_tokens = 0, max_completion_tokens = 0, min_tokens = 0;
  bool has_max_tokens = false, has_max_completion_tokens = false, has_min_tokens = false;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key) != SUCCESS) return bad;
    od::value value;
    if (field.value().get(value) != SUCCESS) return bad;
    if (key == "max_tokens") {
      if (!read_count(value, max_tokens, has_max_tokens)) return bad;
      continue;
    }
    if (key == "max_completion_tokens") {
      if (!read_count(value, max_completion_tokens, has_max_completion_tokens)) return bad;
      continue;
    }
    if (key == "min_tokens") {
      if (!read_count(value, min_tokens, has_min_tokens)) return bad;
      continue;
    }
    if (key == "n" || key == "best_of") {
      uint64_t n = 1;
      bool present = false;
      if (!read_count(value, n, present)) return bad;
      if (n > 1) return MigrationReason::SeveralChoices;
    } else if (key == "logprobs" || key == "top_logprobs" || key == "prompt_logprobs") {
      // Chat's top_logprobs means nothing without logprobs: true; 0 still asks for nothing.
      if (key == "top_logprobs") {
        uint64_t k = 0;
        bool present = false;
        if (!read_count(value, k, present)) return bad;
        if (k > 0) return MigrationReason::Logprobs;
      } else if (!is_null(value)) {
        od::json_type type;
        if (value.type().get(type) != SUCCESS) return bad;
        bool b = true;
        if (type != od::json_type::boolean || value.get_bool().get(b) != SUCCESS || b) return MigrationReason::Logprobs;
      }
    } else if (key == "echo") {
      if (asks_for_something(value)) return MigrationReason::Echo;
    } else if (key == "response_format") {
      if (!is_null(value)) {
        od::object format;
        if (value.get_object().get(format) != SUCCESS) return bad;
        std::string_view type;
        if (format["type"].get_string().get(type) != SUCCESS || type != "text") return MigrationReason::GuidedDecoding;
      }
      continue;  // {"type":"text"} asks for nothing: dropped
    } else if (key.starts_with("guided_") && key != "guided_decoding_backend" && key != "guided_whitespace_pattern") {
      if (asks_for_something(value)) return MigrationReason::GuidedDecoding;
    } else if (key == "structured_outputs" || key == "structural_tag") {
      // structural_tag: vLLM's chat field of its own (before structured_outputs held it)
      if (asks_for_something(value)) return MigrationReason::GuidedDecoding;
    } else if (key == "tool_choice") {
      std::string_view choice;
      if (!is_null(value) && (value.get_string().get(choice) != SUCCESS || choice == "required"))
        return MigrationReason::GuidedDecoding;  // a required or named tool is guided decoding
    } else if (key == "continue_final_message") {
      if (asks_for_something(value)) return MigrationReason::ContinuesFinalMessage;
      continue;
    } else if (key == "add_generation_prompt") {
      if (spec.chat) continue;  // written below
    } else if (key == "model" && !spec.model_token.empty()) {
      util::append_json_member(out, key, spec.model_token);
      continue;
    } else if (!spec.chat && key == "prompt") {
      prompt_seen = true;
      std::string_view prompt;
      od::json_type type;
      if (value.type().get(type) != SUCCESS) return bad;
      if (type == od::json_type::array) {
        // A batch of one text reads as that text; ids or several prompts cannot be continued.
        od::array items;
        if (value.get_array().get(items) != SUCCESS) return bad;
        size_t count = 0;
        for (auto item : items) {
          if (++count > 1 || item.get_string().get(prompt) != SUCCESS) return MigrationReason::PromptShape;
        }
        if (count != 1) return MigrationReason::PromptShape;
      } else if (value.get_string().get(prompt) != SUCCESS) {
        return MigrationReason::PromptShape;
      }
      if (out.size() > 1) out += ',';
      out += "\"prompt\":\"";
      util::append_json_escaped(out, prompt);
      util::append_json_escaped(out, spec.text);
      out += '"';
      continue;
    } else if (spec.chat && key == "messages") {
      prompt_seen = true;
      std::string_view raw;
      if (!raw_json_of(value, raw) || raw.size() < 2 || raw.back() != ']') return bad;
      raw.remove_suffix(1);  // the closing bracket: one more message goes in
      while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' || raw.back() == '\t'))
        raw.remove_suffix(1);
      if (out.size() > 1) out += ',';
      out += "\"messages\":";
      out += raw;
      if (raw.size() > 1) out += ',';
      out += "{\"role\":\"assistant\",\"content\":";
      util::append_json_string(out, spec.text);
      out += "}]";
      continue;
    }
    std::string_view raw;
    if (!raw_json_of(value, raw)) return bad;
    util::append_json_member(out, key, raw);
  }
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS || !prompt_seen) return bad;
  // The token budget, less what was generated.
  if (!spec.chat && !has_max_tokens) {
    max_tokens = kCompletionsDefaultMaxTokens;
    has_max_tokens = true;
  }
  const uint64_t tokens = spec.tokens;
  if ((has_max_tokens && max_tokens <= tokens) || (has_max_completion_tokens && max_completion_tokens <= tokens))
    return MigrationReason::NothingLeft;
  if (has_max_tokens) append_count(out, "max_tokens", max_tokens - tokens);
  if (has_max_completion_tokens) append_count(out, "max_completion_tokens", max_completion_tokens - tokens);
  if (has_min_tokens) append_count(out, "min_tokens", min_tokens > tokens ? min_tokens - tokens : 0);
  if (spec.chat) out += ",\"continue_final_message\":true,\"add_generation_prompt\":false";
  out += '}';
  return std::nullopt;
}

}  // namespace ringgate::openai
