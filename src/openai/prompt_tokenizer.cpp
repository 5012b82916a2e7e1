#include "ringgate/openai/prompt_tokenizer.h"

#include <simdjson.h>

#include <string>

#include "prompt_source.h"
#include "ringgate/kvevents/sim_media_rendering.h"

namespace ringgate::openai {
namespace {

// A message's content as ringgate-sim renders it: text parts' text, media parts as runs.
bool append_content(simdjson::dom::element content, std::string& out, uint32_t image_tokens, uint32_t audio_tokens,
                    std::vector<kvevents::MediaPlaceholder>* media) {
  std::string_view s;
  if (content.get(s) == simdjson::SUCCESS) {
    out.append(s);
    return true;
  }
  simdjson::dom::array parts;
  if (content.get(parts)) return true;
  for (simdjson::dom::element part : parts) {
    std::string_view text;
    if (part["text"].get(text) == simdjson::SUCCESS) out.append(text);
    std::string_view type;
    if (part["type"].get(type)) continue;
    const bool image = type == "image_url";
    if (!image && type != "input_audio") continue;  // the sim reads only text from other parts
    std::string_view value;                         // image_url: "url" or {"url"}; input_audio: {"data"}
    simdjson::dom::element holder;
    if (part[type].get(holder)) return false;
    if (!(image && holder.get(value) == simdjson::SUCCESS) && holder[image ? "url" : "data"].get(value)) return false;
    simdjson::dom::element uuid_value;
    std::string_view uuid;
    bool has_uuid = false;
    if (part["uuid"].get(uuid_value) == simdjson::SUCCESS && !uuid_value.is_null()) {
      if (uuid_value.get(uuid) || uuid.size() > kvevents::kMaxMediaUuidBytes) return false;
      has_uuid = true;
    }
    const auto kind = image ? kvevents::SimMediaKind::Image : kvevents::SimMediaKind::Audio;
    const uint32_t tokens = image ? image_tokens : audio_tokens;
    kvevents::MediaPlaceholder run = kvevents::append_sim_media(
        out, kind, tokens, has_uuid ? std::string(uuid) : kvevents::sim_media_identifier(kind, value));
    if (media) media->push_back(std::move(run));
  }
  return true;
}

}  // namespace

bool SimByteTokenizer::encode(TextFields fields, std::string_view body, std::vector<uint32_t>& ids, bool, TokenProbe*,
                              std::vector<kvevents::MediaPlaceholder>* media) const {
  ids.clear();
  if (media) media->clear();
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
      if (m["content"].get(content) == simdjson::SUCCESS &&
          !append_content(content, text, image_tokens_, audio_tokens_, media))
        return false;
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
