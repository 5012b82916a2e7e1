#pragma once
// Where a prompt tokenizer reads a body's text (prompt_tokenizer.h): the chat messages,
// or the (first) string of "prompt" or "input", among the route's text fields. Private
// to src/openai: simdjson's types stay out of the public headers.
#include <simdjson.h>

#include <string_view>

#include "ringgate/openai/api_routes.h"

namespace ringgate::openai {

struct PromptSource {
  simdjson::dom::element messages;  // an array, when chat
  bool chat = false;
  std::string_view text;            // else the prompt's text (empty: none)
};

inline bool find_prompt(simdjson::dom::object doc, TextFields fields, PromptSource& out) {
  out = PromptSource{};
  if ((fields & kMessagesField) && doc["messages"].get(out.messages) == simdjson::SUCCESS && out.messages.is_array()) {
    out.chat = true;
    return true;
  }
  for (const TextFieldKey& field : {TextFieldKey{kPromptField, "prompt"}, TextFieldKey{kInputField, "input"}}) {
    simdjson::dom::element value;
    if (!(fields & field.field) || doc[field.key].get(value) != simdjson::SUCCESS) continue;
    simdjson::dom::array batch;
    if (value.get(out.text) == simdjson::SUCCESS ||
        (value.get(batch) == simdjson::SUCCESS && batch.size() > 0 && batch.at(0).get(out.text) == simdjson::SUCCESS))
      return true;  // a batch: its first prompt
  }
  return false;
}

}  // namespace ringgate::openai
