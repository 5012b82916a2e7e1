#include "ringgate/proxy/prompt_digest.h"

namespace ringgate::proxy {

void PromptDigest::begin(const openai::ApiRoute& route, size_t expected_bytes) {
  scanner_.reset(this, route.routed_text());
  chain_.reset(expected_bytes);
  scanned_ = 0;
  root_blocks_ = 0;
  rooted_ = false;
  begun_ = true;
  json_ = route.body == openai::BodyFormat::Json;
}

void PromptDigest::advance(std::string_view body) {
  if (!json_ || body.size() <= scanned_ || scanner_.gave_up()) return;
  scanner_.feed(body.data() + scanned_, body.size() - scanned_);
  scanned_ = body.size();
}

bool PromptDigest::finish(const openai::ApiRoute& route, std::string_view body, openai::RequestFields& fields) {
  if (!begun_) begin(route, body.size());
  advance(body);
  begun_ = false;
  if (!json_ || !scanner_.finish(fields)) return false;
  chain_.finish();
  if (counters_ != nullptr) counters_->add(fields.media);
  return true;
}

}  // namespace ringgate::proxy
