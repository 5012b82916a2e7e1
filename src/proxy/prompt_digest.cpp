#include "ringgate/proxy/prompt_digest.h"

namespace ringgate::proxy {

void PromptDigest::begin(size_t expected_bytes) {
  scanner_.reset(this);
  chain_.reset(expected_bytes);
  scanned_ = 0;
  begun_ = true;
}

void PromptDigest::advance(std::string_view body) {
  if (body.size() <= scanned_ || scanner_.gave_up()) return;
  scanner_.feed(body.data() + scanned_, body.size() - scanned_);
  scanned_ = body.size();
}

bool PromptDigest::finish(std::string_view body, openai::RequestFields& fields) {
  if (!begun_) begin(body.size());
  advance(body);
  begun_ = false;
  if (!scanner_.finish(fields)) return false;
  chain_.finish();
  return true;
}

}  // namespace ringgate::proxy
