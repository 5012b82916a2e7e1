#include "ringgate/sim/model_tokenizer.h"

namespace ringgate::sim {

util::Result<std::shared_ptr<const ModelTokenizer>> ModelTokenizer::load(const std::string& dir) {
  auto tokenizer = tokenize::Tokenizer::load(dir);
  if (!tokenizer) return util::Error{"--tokenizer " + dir + ": " + tokenizer.error().message};
  std::optional<tokenize::ChatTemplate> chat;
  std::string chat_error;
  auto loaded = tokenize::ChatTemplate::load(dir);
  if (loaded) chat = std::move(loaded.value());
  else chat_error = loaded.error().message;
  return std::shared_ptr<const ModelTokenizer>(
      new ModelTokenizer(std::move(tokenizer.value()), std::move(chat), std::move(chat_error)));
}

ModelTokenizer::ModelTokenizer(tokenize::Tokenizer tokenizer, std::optional<tokenize::ChatTemplate> chat,
                               std::string chat_error)
    : tokenizer_(std::move(tokenizer)), chat_(std::move(chat)), chat_error_(std::move(chat_error)) {}

util::Result<std::vector<uint32_t>> ModelTokenizer::encode(const PromptInput& prompt, Endpoint endpoint) const {
  std::vector<std::int32_t> ids;
  if (endpoint == Endpoint::chat_completions) {
    if (!chat_) return util::Error{"the model has no usable chat template: " + chat_error_};
    auto rendered = chat_->render_json(prompt.messages_json, true);
    if (!rendered) return util::Error{"the chat template cannot render these messages: " + rendered.error().message};
    if (!tokenizer_.encode(rendered.value(), false, ids)) return util::Error{"the tokenizer refused the prompt"};
  } else if (!prompt.token_ids.empty()) {
    return prompt.token_ids;  // vLLM takes a prompt given as ids as it is
  } else if (!tokenizer_.encode(prompt.text, true, ids)) {
    return util::Error{"the tokenizer refused the prompt"};
  }
  return std::vector<uint32_t>(ids.begin(), ids.end());
}

}  // namespace ringgate::sim
