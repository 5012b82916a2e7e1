#include "ringgate/openai/prompt_tokenizer.h"

#include <simdjson.h>

#include <string>

#include "prompt_source.h"

namespace ringgate::openai {
namespace {

void append_content(simdjson::dom::element content, std::string& out) {
  std::string_view s;
  if (content.get(s) == simdjson::SUCCESS) {
    out.append(s);
    return;
  }
  simdjson::dom::array parts;
  if (content.get(parts)) return;
  for (simdjson::dom::element part : parts) {
    std::string_view text;
    if (part["text"].get(text) == simdjson::SUCCESS) out.append(text);
  }
}

}  // namespace

bool SimByteTokenizer::encode(TextFields fields, std::string_view body, std::vector<uint32_t>& ids, bool,
                              TokenProbe*) const {
  ids.clear();
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object doc;
  if (parser.parse(body.data(), body.size()).get(doc)) return false;
  PromptSource prompt;
  if (!find_prompt(doc, fields, prompt)) return false;
  std::string text;
  if (prompt.chat) {
    simdjson::dom::array messages;
    if (prompt.messages.get(messages)) return false;
    for (simdjson::dom::element m : messages) {
      std::string_view role;
      if (m["role"].get(role)) return false;
      text.append(role);
      text.append(": ");
      simdjson::dom::element content;
      if (m["content"].get(content) == simdjson::SUCCESS) append_content(content, text);
      text.push_back('\n');
    }
    // ringgate-sim's rendering switches, as vLLM's (defaults: add_generation_prompt true,
    // continue_final_message false): the generation prompt, or the final message left open.
    bool generation = true, continue_final = false;
    if (doc["add_generation_prompt"].get(generation)) generation = true;
    if (doc["continue_final_message"].get(continue_final)) continue_final = false;
    if (continue_final && !text.empty()) text.pop_back();
    else if (generation) text.append("assistant: ");
  } else {
    text.assign(prompt.text);
  }
  ids.reserve((text.size() + 3) / 4);
  for (size_t off = 0; off < text.size(); off += 4) {
    uint32_t id = 0;
    for (size_t i = 0; i < 4 && off + i < text.size(); ++i) id |= uint32_t(uint8_t(text[off + i])) << (8 * i);
    ids.push_back(id);
  }
  return !ids.empty();
}

}  // namespace ringgate::openai
