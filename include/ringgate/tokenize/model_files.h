#pragma once
// What a model directory gives to anyone who tokenizes as vLLM does: the tokenizer
// (tokenizer.json, required) and the chat template (tokenizer_config.json,
// optional: without one, why not is kept for the error a chat request gets).
#include <optional>
#include <string>

#include "ringgate/tokenize/chat_template.h"
#include "ringgate/tokenize/tokenizer.h"
#include "ringgate/util/result.h"

namespace ringgate::tokenize {

struct ModelFiles {
  Tokenizer tokenizer;
  std::optional<ChatTemplate> chat;
  std::string chat_error;  // why `chat` is empty

  static util::Result<ModelFiles> load(const std::string& dir);
};

}  // namespace ringgate::tokenize
