#include "ringgate/control/shared_responses.h"

#include <algorithm>
#include <vector>

#include "ringgate/control/response_payload.h"
#include "ringgate/util/json_text.h"

namespace ringgate::control {

SharedResponses::SharedResponses(RedisClient& client, proxy::ResponseTable& table, size_t workers, std::string prefix,
                                 std::string replica_id, std::chrono::milliseconds ttl)
    : table_(table),
      ring_count_(workers),
      rings_(std::make_unique<proxy::ResponseRing[]>(workers)),
      arrivals_(workers),
      exchange_(client, "responses", std::move(prefix) + ":responses", std::move(replica_id), ttl,
                {kMaxEntryBytes, kReadEntries, kStreamEntries}, [this](std::string_view p) { return apply(p); }) {
  for (size_t i = 0; i < ring_count_; ++i) rings_[i].enable(proxy::kResponseRingSize);
  payload_.reserve(kMaxEntryBytes);
}

void SharedResponses::sync() {
  if (!exchange_.ready()) return;
  payload_.clear();
  for (size_t i = 0; i < ring_count_; ++i)
    rings_[i].drain([&](const proxy::ResponseRecord& r) {
      const std::string_view id = r.id_view();
      if (payload_.size() + response_record_bytes(id.size()) > kMaxEntryBytes ||
          !append_response(payload_, id, r.server, r.forget)) {
        ++dropped_;
        return;
      }
      ++sent_;
    });
  exchange_.send(payload_);
}

bool SharedResponses::apply(std::string_view payload) {
  size_t at = 0;
  ResponseChange change;
  for (;;) {
    const PayloadStep step = next_response(payload, at, change);
    if (step != PayloadStep::Record) {
      arrivals_.wake();
      return step == PayloadStep::End;
    }
    if (change.forget) {
      table_.forget(change.id);
    } else if (table_.learn(change.id, change.server)) {
      arrivals_.arrived(change.id);  // after the table has it (response_arrivals.h)
    }
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
      std::to_string(exchange_.syncs()) +
      "\n# HELP ringgate_shared_state_responses_total Responses API ids (learned or forgotten) passed to or taken from "
      "the other replicas (dropped: not passed on, a ring or one sync's entry full; malformed: entries read that "
      "broke off).\n"
      "# TYPE ringgate_shared_state_responses_total counter\n"
      "ringgate_shared_state_responses_total{direction=\"sent\"} " +
      std::to_string(sent_) + "\nringgate_shared_state_responses_total{direction=\"received\"} " +
      std::to_string(received_) + "\nringgate_shared_state_responses_total{direction=\"dropped\"} " +
      std::to_string(dropped()) + "\nringgate_shared_state_responses_total{direction=\"malformed\"} " +
      std::to_string(exchange_.malformed()) + "\n";
}

void SharedResponses::append_debug(std::string& out) const {
  out += "{\"sent\":" + std::to_string(sent_) + ",\"received\":" + std::to_string(received_) +
         ",\"dropped\":" + std::to_string(dropped());
  exchange_.append_debug_members(out);
  out += "}";
}

}  // namespace ringgate::control
