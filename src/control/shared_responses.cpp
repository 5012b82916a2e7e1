#include "ringgate/control/shared_responses.h"

#include <algorithm>
#include <vector>

#include "ringgate/control/response_payload.h"
#include "ringgate/control/stream_exchange.h"
#include "ringgate/util/json_text.h"

namespace ringgate::control {

SharedResponses::SharedResponses(RedisClient& client, sched::ResponseTable& table, size_t workers, std::string prefix,
                                 std::string replica_id, std::chrono::milliseconds ttl)
    : client_(client),
      table_(table),
      ring_count_(workers),
      rings_(std::make_unique<sched::ResponseRing[]>(workers)),
      key_(std::move(prefix) + ":responses"),
      replica_id_(std::move(replica_id)),
      ttl_ms_(std::to_string(ttl.count())) {
  for (size_t i = 0; i < ring_count_; ++i) rings_[i].enable(sched::kResponseRingSize);
  payload_.reserve(kMaxEntryBytes);
}

void SharedResponses::sync() {
  if (in_flight_ || !client_.up()) return;
  payload_.clear();
  for (size_t i = 0; i < ring_count_; ++i)
    rings_[i].drain([&](const sched::ResponseRecord& r) {
      const std::string_view id = r.id_view();
      if (payload_.size() + response_record_bytes(id.size()) > kMaxEntryBytes ||
          !append_response(payload_, id, r.server, r.forget)) {
        ++dropped_;
        return;
      }
      ++sent_;
    });
  const std::vector<std::string> args{"EVAL",
                                      kStreamExchangeScript,
                                      "0",
                                      key_,
                                      replica_id_,
                                      last_id_,
                                      payload_,
                                      std::to_string(kStreamEntries),
                                      std::to_string(kReadEntries),
                                      ttl_ms_};
  if (!client_.command(args, [this](const redisReply* r) {
        in_flight_ = false;
        on_reply(r);
      }))
    return;
  in_flight_ = true;
}

void SharedResponses::refuse(std::string why) {
  ++errors_;
  last_error_ = std::move(why);
  current_ = false;
}

void SharedResponses::on_reply(const redisReply* r) {
  if (!r) return refuse("responses: no reply (" + client_.last_error() + ")");
  if (r->type == REDIS_REPLY_ERROR) return refuse("responses: " + std::string(r->str, std::min<size_t>(r->len, 200)));
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->elements > 1 + kReadEntries)
    return refuse("responses: malformed reply");
  for (size_t i = 0; i < r->elements; ++i)
    if (r->element[i]->type != REDIS_REPLY_STRING) return refuse("responses: malformed reply");
  const std::string_view id(r->element[0]->str, r->element[0]->len);
  if (!valid_stream_id(id)) return refuse("responses: malformed reply");
  last_id_.assign(id);
  for (size_t i = 1; i < r->elements; ++i) {
    const std::string_view payload(r->element[i]->str, r->element[i]->len);
    if (payload.size() > kMaxEntryBytes || !apply(payload)) ++malformed_;
  }
  ++syncs_;
  last_error_.clear();
  current_ = true;
}

bool SharedResponses::apply(std::string_view payload) {
  size_t at = 0;
  ResponseChange change;
  for (;;) {
    const PayloadStep step = next_response(payload, at, change);
    if (step != PayloadStep::Record) return step == PayloadStep::End;
    if (change.forget)
      table_.forget(change.id);
    else
      table_.learn(change.id, change.server);
    ++received_;
  }
}

uint64_t SharedResponses::dropped() const {
  uint64_t n = dropped_;
  for (size_t i = 0; i < ring_count_; ++i) n += rings_[i].dropped();
  return n;
}

void SharedResponses::append_metrics(std::string& out) const {
  out +=
      "# HELP ringgate_shared_state_response_syncs_total Response-id exchanges answered by Redis (one EVAL each).\n"
      "# TYPE ringgate_shared_state_response_syncs_total counter\n"
      "ringgate_shared_state_response_syncs_total " +
      std::to_string(syncs_) +
      "\n# HELP ringgate_shared_state_responses_total Responses API ids (learned or forgotten) passed to or taken from "
      "the other replicas (dropped: not passed on, a ring or one sync's entry full; malformed: entries read that "
      "broke off).\n"
      "# TYPE ringgate_shared_state_responses_total counter\n"
      "ringgate_shared_state_responses_total{direction=\"sent\"} " +
      std::to_string(sent_) + "\nringgate_shared_state_responses_total{direction=\"received\"} " +
      std::to_string(received_) + "\nringgate_shared_state_responses_total{direction=\"dropped\"} " +
      std::to_string(dropped()) + "\nringgate_shared_state_responses_total{direction=\"malformed\"} " +
      std::to_string(malformed_) + "\n";
}

void SharedResponses::append_debug(std::string& out) const {
  out += "{\"current\":";
  out += current_ ? "true" : "false";
  out += ",\"syncs\":" + std::to_string(syncs_) + ",\"errors\":" + std::to_string(errors_) +
         ",\"sent\":" + std::to_string(sent_) + ",\"received\":" + std::to_string(received_) +
         ",\"dropped\":" + std::to_string(dropped()) + ",\"malformed\":" + std::to_string(malformed_) +
         ",\"lastId\":";
  util::append_json_string(out, last_id_);
  out += ",\"lastError\":";
  util::append_json_string(out, last_error_);
  out += "}";
}

}  // namespace ringgate::control
