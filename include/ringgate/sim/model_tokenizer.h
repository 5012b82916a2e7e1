// --tokenizer DIR: the model's own tokenizer (tokenizer.json) and chat template
// (tokenizer_config.json), used as vLLM's OpenAI server uses them, so prompt token
// counts and KV-event block hashes are the model's (and match a gateway tokenizing
// with the same directory). Completions: the prompt encoded with special tokens
// (add_special_tokens=True); chat: the messages rendered with the request's
// add_generation_prompt (default true) and continue_final_message as HF's
// apply_chat_template does them, encoded without special tokens
// (add_special_tokens=False: the template writes BOS).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ringgate/sim/completion_request.h"
#include "ringgate/tokenize/model_files.h"
#include "ringgate/util/result.h"

namespace ringgate::sim {

class ModelTokenizer {
 public:
  static util::Result<std::shared_ptr<const ModelTokenizer>> load(const std::string& dir);

  // The prompt's token ids; an error (a 400 to the client) when the chat template
  // cannot render the messages or the tokenizer refuses the text.
  util::Result<std::vector<uint32_t>> encode(const PromptInput& prompt, Endpoint endpoint,
                                             const ChatRendering& rendering = {}) const;
  // The chat text the template gives (what encode() then tokenizes).
  util::Result<std::string> render_chat(const PromptInput& prompt, const ChatRendering& rendering) const;

 private:
  explicit ModelTokenizer(tokenize::ModelFiles files);

  tokenize::ModelFiles files_;
};

}  // namespace ringgate::sim
