#include "ringgate/sim/responses.h"

#include <cstdio>
#include <iterator>

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

// UsageInfo: prompt_tokens, total_tokens, completion_tokens, prompt_tokens_details.
// `with_null_details`: a model_dump() with None fields (full responses); the
// usage event and continuous stats drop them.
void append_usage(std::string& out, const Usage& u, bool with_null_details) {
  out += "{\"prompt_tokens\":";
  util::append_uint(out, u.prompt_tokens);
  out += ",\"total_tokens\":";
  util::append_uint(out, uint64_t(u.prompt_tokens) + u.completion_tokens);
  out += ",\"completion_tokens\":";
  util::append_uint(out, u.completion_tokens);
  if (u.cached_tokens) {
    out += ",\"prompt_tokens_details\":{\"cached_tokens\":";
    util::append_uint(out, *u.cached_tokens);
    out += '}';
  } else if (with_null_details) {
    out += ",\"prompt_tokens_details\":null";
  }
  out += '}';
}

void append_finish(std::string& out, const ChoiceView& c) {
  out += ",\"finish_reason\":";
  if (c.finish) {
    out += '"';
    out += finish_reason_name(*c.finish);
    out += '"';
  } else {
    out += "null";
  }
}

void append_stop_reason(std::string& out, const ChoiceView& c) {
  out += ",\"stop_reason\":";
  if (c.stop_reason && !c.stop_reason->empty()) util::append_json_string(out, *c.stop_reason);
  else out += "null";
}

// A made-up but stable log-probability for a token.
double fake_logprob(std::string_view token, uint32_t rank) {
  uint32_t h = 2166136261u;
  for (char ch : token) h = (h ^ static_cast<unsigned char>(ch)) * 16777619u;
  return -0.01 * double(1 + h % 97) - 1.5 * rank;
}

constexpr std::string_view kAlternatives[] = {" the", " a", ",", ".", " and", " of", " to", " in", " is", " it",
                                              " that", " for", " on", " with", " as", " at", " by", " an", " or",
                                              " be"};

void append_bytes(std::string& out, std::string_view token) {
  out += '[';
  for (size_t i = 0; i < token.size(); ++i) {
    if (i) out += ',';
    util::append_uint(out, static_cast<unsigned char>(token[i]));
  }
  out += ']';
}

void append_chat_top(std::string& out, std::string_view token, double logprob) {
  out += "{\"token\":";
  util::append_json_string(out, token);
  out += ",\"logprob\":";
  util::append_json_double(out, logprob);
  out += ",\"bytes\":";
  append_bytes(out, token);
}

void append_logprobs(std::string& out, bool chat, const LogprobsView& l) {
  out += ",\"logprobs\":";
  if (!l.tokens) {
    out += "null";
    return;
  }
  const auto& tokens = *l.tokens;
  if (chat) {
    out += "{\"content\":[";
    for (size_t i = l.first; i < l.last; ++i) {
      if (i > l.first) out += ',';
      append_chat_top(out, tokens[i], fake_logprob(tokens[i], 0));
      out += ",\"top_logprobs\":[";
      for (uint32_t k = 0; k < l.top; ++k) {
        if (k) out += ',';
        std::string_view alt = k == 0 ? tokens[i] : kAlternatives[(k - 1) % std::size(kAlternatives)];
        append_chat_top(out, alt, fake_logprob(alt, k));
        out += '}';
      }
      out += "]}";
    }
    out += "]}";
    return;
  }
  out += "{\"text_offset\":[";
  size_t offset = l.text_offset;
  for (size_t i = l.first; i < l.last; ++i) {
    if (i > l.first) out += ',';
    util::append_uint(out, offset);
    offset += tokens[i].size();
  }
  out += "],\"token_logprobs\":[";
  for (size_t i = l.first; i < l.last; ++i) {
    if (i > l.first) out += ',';
    util::append_json_double(out, fake_logprob(tokens[i], 0));
  }
  out += "],\"tokens\":[";
  for (size_t i = l.first; i < l.last; ++i) {
    if (i > l.first) out += ',';
    util::append_json_string(out, tokens[i]);
  }
  out += "],\"top_logprobs\":[";
  for (size_t i = l.first; i < l.last; ++i) {
    if (i > l.first) out += ',';
    out += '{';
    util::append_json_string(out, tokens[i]);
    out += ':';
    util::append_json_double(out, fake_logprob(tokens[i], 0));
    for (uint32_t k = 1; k < l.top; ++k) {
      std::string_view alt = kAlternatives[(k - 1) % std::size(kAlternatives)];
      if (alt == tokens[i]) continue;
      out += ',';
      util::append_json_string(out, alt);
      out += ':';
      util::append_json_double(out, fake_logprob(alt, k));
    }
    out += '}';
  }
  out += "]}";
}

}  // namespace

std::string make_response_id(Endpoint endpoint, uint64_t hi, uint64_t lo) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = endpoint == Endpoint::chat_completions ? "chatcmpl-" : "cmpl-";
  for (int i = 60; i >= 0; i -= 4) id += kHex[(hi >> i) & 15];
  for (int i = 60; i >= 0; i -= 4) id += kHex[(lo >> i) & 15];
  return id;
}

void append_full_response(std::string& out, const ResponseHead& h, const std::vector<ChoiceView>& choices,
                          const Usage& usage, std::string_view kv_transfer_params) {
  const bool chat = is_chat(h);
  append_head(out, h, chat ? "chat.completion" : "text_completion");
  out += ",\"choices\":[";
  for (size_t i = 0; i < choices.size(); ++i) {
    const ChoiceView& c = choices[i];
    if (i) out += ',';
    out += "{\"index\":";
    util::append_uint(out, c.index);
    if (chat) {
      out += ",\"message\":{\"role\":\"assistant\",\"content\":";
      util::append_json_string(out, c.text);
      out += ",\"refusal\":null,\"annotations\":null,\"audio\":null,\"function_call\":null,\"tool_calls\":[],"
             "\"reasoning\":null,\"reasoning_content\":null}";
      append_logprobs(out, true, c.logprobs);
      append_finish(out, c);
      append_stop_reason(out, c);
      out += ",\"token_ids\":null}";
    } else {
      out += ",\"text\":";
      util::append_json_string(out, c.text);
      append_logprobs(out, false, c.logprobs);
      append_finish(out, c);
      append_stop_reason(out, c);
      // token_ids / prompt_token_ids (return_token_ids) arrived after v0.10.
      out += h.token_id_fields ? ",\"token_ids\":null,\"prompt_logprobs\":null,\"prompt_token_ids\":null}"
                               : ",\"prompt_logprobs\":null}";
    }
  }
  out += "],\"service_tier\":null,\"system_fingerprint\":null,\"usage\":";
  append_usage(out, usage, true);
  if (chat) out += ",\"prompt_logprobs\":null,\"prompt_token_ids\":null";
  out += ",\"kv_transfer_params\":";
  out += kv_transfer_params.empty() ? std::string_view("null") : kv_transfer_params;
  out += '}';
}

void append_chat_role_event(std::string& out, const ResponseHead& h, uint32_t index, const Usage* usage) {
  out += "data: ";
  append_head(out, h, "chat.completion.chunk");
  out += ",\"choices\":[{\"index\":";
  util::append_uint(out, index);
  out += ",\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]";
  if (usage) {
    out += ",\"usage\":";
    append_usage(out, *usage, false);
  }
  out += "}\n\n";
}

void append_token_event(std::string& out, const ResponseHead& h, const ChoiceView& c, const Usage* usage) {
  out += "data: ";
  if (is_chat(h)) {
    // Chat chunks are dumped with exclude_unset: stop_reason only on the last.
    append_head(out, h, "chat.completion.chunk");
    out += ",\"choices\":[{\"index\":";
    util::append_uint(out, c.index);
    out += ",\"delta\":{\"content\":";
    util::append_json_string(out, c.text);
    out += '}';
    append_logprobs(out, true, c.logprobs);
    append_finish(out, c);
    if (c.finish) append_stop_reason(out, c);
    out += "}]";
    if (usage) {
      out += ",\"usage\":";
      append_usage(out, *usage, false);
    }
    out += "}\n\n";
    return;
  }
  // Completion chunks are dumped whole (exclude_unset=False): every field, nulls included.
  append_head(out, h, "text_completion");
  out += ",\"choices\":[{\"index\":";
  util::append_uint(out, c.index);
  out += ",\"text\":";
  util::append_json_string(out, c.text);
  append_logprobs(out, false, c.logprobs);
  append_finish(out, c);
  append_stop_reason(out, c);
  out += "}],\"usage\":";
  if (usage) append_usage(out, *usage, true);
  else out += "null";
  out += "}\n\n";
}

void append_usage_event(std::string& out, const ResponseHead& h, const Usage& usage) {
  out += "data: ";
  append_head(out, h, is_chat(h) ? "chat.completion.chunk" : "text_completion");
  out += ",\"choices\":[],\"usage\":";
  append_usage(out, usage, false);
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
