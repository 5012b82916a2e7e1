#include "ringgate/proxy/response_affinity.h"

#include "ringgate/http/headers.h"

namespace ringgate::proxy {

namespace {

constexpr std::string_view kCreatePath = "/v1/responses";

static_assert(openai::kMaxResponseIdBytes == 256 && ResponseTable::kMaxIdBytes == 256,
              "the messages below state the bound");

}  // namespace

AffinityError ResponseAffinity::begin(ResponseTable* table, ResponseRing* ring, const openai::ApiRoute& route,
                                      std::string_view target, const openai::RequestFields& fields, bool is_delete) {
  table_ = table;
  ring_ = ring;
  creates_ = route.path == kCreatePath;
  is_path_ = route.routing == openai::Routing::ResponseHolder;
  is_delete_ = is_delete;
  pinned_ = scanning_ = false;
  server_ = answered_by_ = 0;
  id_.clear();
  if (is_path_) {
    const std::string_view id = openai::response_id_of(target);
    if (id.size() > openai::kMaxResponseIdBytes)
      return {400, "invalid_response_id", "the response id in the path is longer than 256 bytes"};
    if (http::has_control_bytes(id))
      return {400, "invalid_response_id", "the response id must not contain control characters"};
    id_.assign(id);
  } else if (creates_) {
    const openai::RoutingKeyValue& previous = fields.keys[openai::RoutingKey::PreviousResponseId];
    if (previous.too_long)
      return {400, "invalid_previous_response_id", "\"previous_response_id\" is longer than 256 bytes"};
    if (previous.control)
      return {400, "invalid_previous_response_id", "\"previous_response_id\" must not contain control characters"};
    if (previous.present && !previous.value.empty()) id_ = previous.value;
  }
  if (table_ != nullptr && !id_.empty()) find_again();
  return {};
}

bool ResponseAffinity::find_again() {
  if (table_ == nullptr || id_.empty() || pinned_) return pinned_;
  if (const std::optional<uint64_t> server = table_->find(id_)) {
    pinned_ = true;
    server_ = *server;
  }
  return pinned_;
}

AffinityError ResponseAffinity::gone() const {
  if (is_path_)
    return {404, kResponseNotFound, "the model server that holds this response is gone; the response is lost"};
  return {404, kPreviousNotFound,
          "the model server that holds the previous response is gone; start the conversation again"};
}

void ResponseAffinity::answer_started(int status, bool event_stream, uint64_t server) {
  scanning_ = false;
  if (table_ == nullptr || status < 200 || status >= 300) return;
  if (is_delete_ && !id_.empty()) {
    table_->forget(id_);
    record_response(ring_, id_, 0, true);
    return;
  }
  if (!creates_) return;
  answered_by_ = server;
  scanning_ = true;
  scanner_.reset(event_stream);
}

bool ResponseAffinity::answer_bytes(std::string_view decoded) {
  if (!scanning_) return false;
  scanner_.feed(decoded);
  if (!scanner_.done()) return false;
  scanning_ = false;
  if (scanner_.id().empty() || !table_->learn(scanner_.id(), answered_by_)) return false;
  record_response(ring_, scanner_.id(), answered_by_, false);
  return true;
}

}  // namespace ringgate::proxy
