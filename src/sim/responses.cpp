#include "ringgate/sim/responses.h"

#include "ringgate/util/json_text.h"

namespace ringgate::sim {
namespace {

bool is_chat(const ResponseHead& h) { return h.endpoint == Endpoint::chat_completions; }

void append_head(std::string& out, const ResponseHead& h, const char* object) {
  out += "{\"id\":";
  util::append_json_string(out, h.id);
  out += ",\"object\":\"";
  out += object;
  out += "\",\"created\":";
  util::append_uint(out, h.created);
  out += ",\"model\":";
  util::append_json_string(out, h.model);
}

void append_usage(std::string& out, const Usage& u) {
  out += "{\"prompt_tokens\":";
  util::append_uint(out, u.prompt_tokens);
  out += ",\"total_tokens\":";
  util::append_uint(out, uint64_t(u.prompt_tokens) + u.completion_tokens);
  out += ",\"completion_tokens\":";
  util::append_uint(out, u.completion_tokens);
  out += ",\"prompt_tokens_details\":{\"cached_tokens\":";
  util::append_uint(out, u.cached_tokens);
  out += "}}";
}

void append_finish(std::string& out, const FinishReason* finish) {
  out += ",\"finish_reason\":";
  if (finish) {
    out += '"';
    out += finish_reason_name(*finish);
    out += '"';
  } else {
    out += "null";
  }
  out += ",\"stop_reason\":null";
}

}  // namespace

std::string make_response_id(Endpoint endpoint, uint64_t hi, uint64_t lo) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = endpoint == Endpoint::chat_completions ? "chatcmpl-" : "cmpl-";
  for (int i = 60; i >= 0; i -= 4) id += kHex[(hi >> i) & 15];
  for (int i = 60; i >= 0; i -= 4) id += kHex[(lo >> i) & 15];
  return id;
}

void append_full_response(std::string& out, const ResponseHead& h, std::string_view text, FinishReason finish,
                          const Usage& usage) {
  if (is_chat(h)) {
    append_head(out, h, "chat.completion");
    out += ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"reasoning_content\":null,\"content\":";
    util::append_json_string(out, text);
    out += ",\"tool_calls\":[]},\"logprobs\":null";
  } else {
    append_head(out, h, "text_completion");
    out += ",\"choices\":[{\"index\":0,\"text\":";
    util::append_json_string(out, text);
    out += ",\"logprobs\":null";
  }
  append_finish(out, &finish);
  out += "}],\"usage\":";
  append_usage(out, usage);
  out += '}';
}

void append_token_event(std::string& out, const ResponseHead& h, std::string_view token, bool first,
                        const FinishReason* finish) {
  out += "data: ";
  if (is_chat(h)) {
    append_head(out, h, "chat.completion.chunk");
    out += ",\"choices\":[{\"index\":0,\"delta\":{";
    if (first) out += "\"role\":\"assistant\",";
    out += "\"content\":";
    util::append_json_string(out, token);
    out += "},\"logprobs\":null";
  } else {
    append_head(out, h, "text_completion");
    out += ",\"choices\":[{\"index\":0,\"text\":";
    util::append_json_string(out, token);
    out += ",\"logprobs\":null";
  }
  append_finish(out, finish);
  out += "}]}\n\n";
}

void append_usage_event(std::string& out, const ResponseHead& h, const Usage& usage) {
  out += "data: ";
  append_head(out, h, is_chat(h) ? "chat.completion.chunk" : "text_completion");
  out += ",\"choices\":[],\"usage\":";
  append_usage(out, usage);
  out += "}\n\n";
}

std::string models_body(const std::vector<ModelEntry>& models, uint64_t created, uint32_t max_model_len) {
  std::string out = "{\"object\":\"list\",\"data\":[";
  for (size_t i = 0; i < models.size(); ++i) {
    const ModelEntry& m = models[i];
    if (i) out += ',';
    out += "{\"id\":";
    util::append_json_string(out, m.id);
    out += ",\"object\":\"model\",\"created\":";
    util::append_uint(out, created);
    out += ",\"owned_by\":\"vllm\",\"root\":";
    util::append_json_string(out, m.root);
    out += ",\"parent\":";
    if (m.parent.empty()) out += "null";
    else util::append_json_string(out, m.parent);
    out += ",\"max_model_len\":";
    util::append_uint(out, max_model_len);
    out += ",\"permission\":[{\"id\":\"modelperm-";
    util::append_uint(out, i);
    out += "\",\"object\":\"model_permission\",\"created\":";
    util::append_uint(out, created);
    out += ",\"allow_create_engine\":false,\"allow_sampling\":true,\"allow_logprobs\":true,"
           "\"allow_search_indices\":false,\"allow_view\":true,\"allow_fine_tuning\":false,"
           "\"organization\":\"*\",\"group\":null,\"is_blocking\":false}]}";
  }
  out += "]}";
  return out;
}

}  // namespace ringgate::sim
