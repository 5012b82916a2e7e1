#include "ringgate/sim/model_tokenizer.h"

namespace ringgate::sim {

util::Result<std::shared_ptr<const ModelTokenizer>> ModelTokenizer::load(const std::string& dir) {
  auto files = tokenize::ModelFiles::load(dir);
  if (!files) return util::Error{"--tokenizer " + files.error().message};
  return std::shared_ptr<const ModelTokenizer>(new ModelTokenizer(std::move(files.value())));
}

ModelTokenizer::ModelTokenizer(tokenize::ModelFiles files) : files_(std::move(files)) {}

util::Result<std::vector<uint32_t>> ModelTokenizer::encode(const PromptInput& prompt, Endpoint endpoint) const {
  std::vector<std::int32_t> ids;
  if (endpoint == Endpoint::chat_completions) {
    if (!files_.chat) return util::Error{"the model has no usable chat template: " + files_.chat_error};
    auto rendered = files_.chat->render_json(prompt.messages_json, true);
    if (!rendered) return util::Error{"the chat template cannot render these messages: " + rendered.error().message};
    if (!files_.tokenizer.encode(rendered.value(), false, ids)) return util::Error{"the tokenizer refused the prompt"};
  } else if (!prompt.token_ids.empty()) {
    return prompt.token_ids;  // vLLM takes a prompt given as ids as it is
  } else if (!files_.tokenizer.encode(prompt.text, true, ids)) {
    return util::Error{"the tokenizer refused the prompt"};
  }
  return std::vector<uint32_t>(ids.begin(), ids.end());
}

}  // namespace ringgate::sim
