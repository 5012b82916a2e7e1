#include "ringgate/sim/model_tokenizer.h"

namespace ringgate::sim {

util::Result<std::shared_ptr<const ModelTokenizer>> ModelTokenizer::load(const std::string& dir) {
  auto files = tokenize::ModelFiles::load(dir);
  if (!files) return util::Error{"--tokenizer " + files.error().message};
  return std::shared_ptr<const ModelTokenizer>(new ModelTokenizer(std::move(files.value())));
}

ModelTokenizer::ModelTokenizer(tokenize::ModelFiles files) : files_(std::move(files)) {}

namespace {

// Python's str.strip() set, as far as it matters for a chat template's text.
constexpr std::string_view kSpace = " \t\n\r\f\v";

std::string_view strip(std::string_view s) {
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) + 1 - begin);
}

}  // namespace

util::Result<std::string> ModelTokenizer::render_chat(const PromptInput& prompt, const ChatRendering& rendering) const {
  if (!files_.chat) return util::Error{"the model has no usable chat template: " + files_.chat_error};
  auto rendered = files_.chat->render_json(prompt.messages_json, rendering.add_generation_prompt);
  if (!rendered) return util::Error{"the chat template cannot render these messages: " + rendered.error().message};
  if (!rendering.continue_final_message) return rendered;
  // HF's apply_chat_template(continue_final_message=True): the text ends where the
  // final message's content does (its last occurrence), so the model continues it.
  std::string& text = rendered.value();
  const std::string_view final_message = prompt.echo_text;  // the final message's content
  const std::string_view stripped = strip(final_message);
  const size_t at = text.rfind(stripped);
  if (at == std::string::npos)
    return util::Error{"continue_final_message is set but the final message does not appear in the chat after "
                       "applying the chat template! This can happen if the chat template deletes portions of the "
                       "final message. Please verify the chat template and final message in your chat to ensure "
                       "they are compatible."};
  const std::string_view lstripped = final_message.substr(std::min(final_message.size(),
                                                                   final_message.find_first_not_of(kSpace)));
  const bool spacing_kept = std::string_view(text).substr(at, lstripped.size()) == final_message;
  text.resize(at + (spacing_kept ? lstripped.size() : stripped.size()));
  return rendered;
}

util::Result<std::vector<uint32_t>> ModelTokenizer::encode(const PromptInput& prompt, Endpoint endpoint,
                                                           const ChatRendering& rendering) const {
  std::vector<std::int32_t> ids;
  if (endpoint == Endpoint::chat_completions) {
    auto rendered = render_chat(prompt, rendering);
    if (!rendered) return util::Error{rendered.error().message};
    if (!files_.tokenizer.encode(rendered.value(), false, ids)) return util::Error{"the tokenizer refused the prompt"};
  } else if (!prompt.token_ids.empty()) {
    return prompt.token_ids;  // vLLM takes a prompt given as ids as it is
  } else if (!files_.tokenizer.encode(prompt.text, true, ids)) {
    return util::Error{"the tokenizer refused the prompt"};
  }
  return std::vector<uint32_t>(ids.begin(), ids.end());
}

}  // namespace ringgate::sim
