#include "ringgate/tokenize/model_files.h"

namespace ringgate::tokenize {

util::Result<ModelFiles> ModelFiles::load(const std::string& dir) {
  auto tokenizer = Tokenizer::load(dir);
  if (!tokenizer) return util::Error{dir + ": " + tokenizer.error().message};
  ModelFiles files{std::move(tokenizer.value()), std::nullopt, {}};
  auto chat = ChatTemplate::load(dir);
  if (chat) files.chat = std::move(chat.value());
  else files.chat_error = chat.error().message;
  return files;
}

}  // namespace ringgate::tokenize
