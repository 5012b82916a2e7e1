#pragma once
// A model's chat template (tokenizer_config.json `chat_template`, Jinja) rendered by
// the subset of Jinja the supported models' templates use: text, {{ }}, {% if/elif/
// else %}, {% for %} (loop.index/index0/first/last/length), {% set %} (namespace
// attributes too), namespace(), raise_exception(), filters trim/length/tojson/…,
// tests defined/none/string/…, string methods, slices, and the whitespace control of
// the reference renderer (@huggingface/jinja: lstrip_blocks, trim_blocks, `-`).
// Anything outside the subset is an error value at load or render, never a crash:
// the caller then routes as if there were no template.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/util/result.h"

namespace simdjson::dom {
class element;
}

namespace ringgate::tokenize {

// Bounds for a template from a volume and for a conversation from a client.
inline constexpr std::size_t kMaxTemplateBytes = 1u << 20;
inline constexpr std::size_t kMaxRenderedBytes = 64u << 20;
inline constexpr std::size_t kMaxRenderSteps = 10'000'000;

struct ChatMessage {
  std::string role;
  std::string content;
};

class ChatTemplate {
 public:
  // Reads dir/tokenizer_config.json: chat_template (the "default" one of a named
  // list), bos_token and eos_token.
  static util::Result<ChatTemplate> load(const std::string& dir);
  static util::Result<ChatTemplate> parse(std::string_view source, std::string bos_token = {},
                                          std::string eos_token = {});

  // messages_json: a JSON array of OpenAI chat messages (role, content as a string
  // or parts, tool_calls …), as found in a request body.
  util::Result<std::string> render_json(std::string_view messages_json, bool add_generation_prompt) const;
  // The same for a request body already parsed: its "messages" element, read in place
  // (the gateway's per-request path; a 200 KB conversation is not written out and
  // parsed again).
  util::Result<std::string> render_messages(const simdjson::dom::element& messages, bool add_generation_prompt) const;
  util::Result<std::string> render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace ringgate::tokenize
