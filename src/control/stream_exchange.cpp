#include "ringgate/control/stream_exchange.h"

#include <algorithm>
#include <vector>

#include "ringgate/util/json_text.h"

namespace ringgate::control {

bool valid_stream_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxStreamIdBytes) return false;
  const size_t dash = id.find('-');
  auto digits = [](std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return dash == std::string_view::npos ? digits(id) : digits(id.substr(0, dash)) && digits(id.substr(dash + 1));
}

StreamExchange::StreamExchange(RedisClient& client, std::string what, std::string key, std::string replica_id,
                               std::chrono::milliseconds ttl, Bounds bounds, Apply apply)
    : client_(client),
      what_(std::move(what)),
      key_(std::move(key)),
      replica_id_(std::move(replica_id)),
      ttl_ms_(std::to_string(ttl.count())),
      bounds_(bounds),
      apply_(std::move(apply)) {}

void StreamExchange::send(const std::string& payload) {
  const std::vector<std::string> args{"EVAL",
                                      kStreamExchangeScript,
                                      "0",
                                      key_,
                                      replica_id_,
                                      last_id_,
                                      payload,
                                      std::to_string(bounds_.kept_entries),
                                      std::to_string(bounds_.read_entries),
                                      ttl_ms_};
  if (!client_.command(args, [this](const redisReply* r) {
        in_flight_ = false;
        on_reply(r);
      }))
    return;
  in_flight_ = true;
}

void StreamExchange::refuse(std::string why) {
  ++errors_;
  last_error_ = what_ + ": " + why;
  current_ = false;
}

void StreamExchange::on_reply(const redisReply* r) {
  if (!r) return refuse("no reply (" + client_.last_error() + ")");
  if (r->type == REDIS_REPLY_ERROR) return refuse(std::string(r->str, std::min<size_t>(r->len, 200)));
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->elements > 1 + bounds_.read_entries)
    return refuse("malformed reply");
  for (size_t i = 0; i < r->elements; ++i)
    if (r->element[i]->type != REDIS_REPLY_STRING) return refuse("malformed reply");
  const std::string_view id(r->element[0]->str, r->element[0]->len);
  if (!valid_stream_id(id)) return refuse("malformed reply");
  last_id_.assign(id);
  for (size_t i = 1; i < r->elements; ++i) {
    const std::string_view payload(r->element[i]->str, r->element[i]->len);
    if (payload.size() > bounds_.max_entry_bytes || !apply_(payload)) ++malformed_;
  }
  ++syncs_;
  last_error_.clear();
  current_ = true;
}

void StreamExchange::append_debug_members(std::string& out) const {
  out += ",\"current\":";
  out += current_ ? "true" : "false";
  out += ",\"syncs\":" + std::to_string(syncs_) + ",\"errors\":" + std::to_string(errors_) +
         ",\"malformed\":" + std::to_string(malformed_) + ",\"lastId\":";
  util::append_json_string(out, last_id_);
  out += ",\"lastError\":";
  util::append_json_string(out, last_error_);
}

}  // namespace ringgate::control
