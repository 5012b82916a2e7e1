#include "ringgate/control/shared_placements.h"

#include <xxhash.h>

#include <algorithm>
#include <vector>

#include "ringgate/control/placement_payload.h"
#include "ringgate/control/stream_exchange.h"
#include "ringgate/util/json_text.h"

namespace ringgate::control {

SharedPlacements::SharedPlacements(RedisClient& client, sched::PrefixIndex& index, size_t workers, std::string prefix,
                                   std::string replica_id, std::chrono::milliseconds ttl)
    : client_(client),
      index_(index),
      ring_count_(workers),
      rings_(std::make_unique<sched::PlacementRing[]>(workers)),
      key_(std::move(prefix) + ":placements"),
      replica_id_(std::move(replica_id)),
      ttl_ms_(std::to_string(ttl.count())) {
  for (size_t i = 0; i < ring_count_; ++i) rings_[i].enable(sched::kPlacementRingSize);
  payload_.reserve(kMaxEntryBytes);
}

void SharedPlacements::append_record(const sched::EndpointSnapshot& snapshot, const sched::PlacementRecord& record) {
  const ptrdiff_t pos = snapshot.index_of(record.endpoint);
  if (pos < 0) return;  // it left the pool since
  const std::string address = snapshot.at(size_t(pos)).address.text();
  const size_t count = std::min<size_t>(record.count, sched::kMaxPlacementEntries);
  if (payload_.size() + placement_record_bytes(address.size(), count) > kMaxEntryBytes ||
      !append_placement(payload_, address, std::span<const uint64_t>(record.hashes.data(), count))) {
    ++dropped_;
    return;
  }
  ++sent_;
}

void SharedPlacements::sync(const sched::EndpointSnapshot& snapshot) {
  if (in_flight_ || !client_.up()) return;
  payload_.clear();
  for (size_t i = 0; i < ring_count_; ++i)
    rings_[i].drain([&](const sched::PlacementRecord& r) { append_record(snapshot, r); });
  // What the reply's addresses mean: the endpoints as this snapshot knows them.
  if (snapshot.version() != ids_version_ || ids_version_ == 0) {
    ids_.clear();
    for (const sched::EndpointState& e : snapshot.endpoints()) ids_.emplace(e.address_hash, e.id);
    ids_version_ = snapshot.version();
  }
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

void SharedPlacements::refuse(std::string why) {
  ++errors_;
  last_error_ = std::move(why);
  current_ = false;
}

void SharedPlacements::on_reply(const redisReply* r) {
  if (!r) return refuse("placements: no reply (" + client_.last_error() + ")");
  if (r->type == REDIS_REPLY_ERROR) return refuse("placements: " + std::string(r->str, std::min<size_t>(r->len, 200)));
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->elements > 1 + kReadEntries)
    return refuse("placements: malformed reply");
  for (size_t i = 0; i < r->elements; ++i)
    if (r->element[i]->type != REDIS_REPLY_STRING) return refuse("placements: malformed reply");
  const std::string_view id(r->element[0]->str, r->element[0]->len);
  if (!valid_stream_id(id)) return refuse("placements: malformed reply");
  last_id_.assign(id);
  for (size_t i = 1; i < r->elements; ++i) {
    const std::string_view payload(r->element[i]->str, r->element[i]->len);
    if (payload.size() > kMaxEntryBytes || !apply(payload)) ++malformed_;
  }
  ++syncs_;
  last_error_.clear();
  current_ = true;
}

bool SharedPlacements::apply(std::string_view payload) {
  size_t at = 0;
  PlacementView record;
  uint64_t entries[sched::kMaxPlacementEntries];
  for (;;) {
    const PayloadStep step = next_placement(payload, at, record);
    if (step != PayloadStep::Record) return step == PayloadStep::End;
    const auto it = ids_.find(XXH3_64bits(record.address.data(), record.address.size()));
    if (it == ids_.end()) {
      ++unknown_;  // a server another replica knows and this one not (yet)
      continue;
    }
    for (size_t i = 0; i < record.count(); ++i) entries[i] = record.entry(i);
    index_.on_routed(it->second, std::span<const uint64_t>(entries, record.count()));
    ++received_;
  }
}

uint64_t SharedPlacements::dropped() const {
  uint64_t n = dropped_;
  for (size_t i = 0; i < ring_count_; ++i) n += rings_[i].dropped();
  return n;
}

void SharedPlacements::append_metrics(std::string& out) const {
  out +=
      "# HELP ringgate_shared_state_placement_syncs_total Placement exchanges answered by Redis.\n"
      "# TYPE ringgate_shared_state_placement_syncs_total counter\n"
      "ringgate_shared_state_placement_syncs_total " +
      std::to_string(syncs_) +
      "\n# HELP ringgate_shared_state_placements_total Placements passed to or taken from the other replicas "
      "(dropped: not passed on, a ring or one sync's entry full).\n"
      "# TYPE ringgate_shared_state_placements_total counter\n"
      "ringgate_shared_state_placements_total{direction=\"sent\"} " +
      std::to_string(sent_) + "\nringgate_shared_state_placements_total{direction=\"received\"} " +
      std::to_string(received_) + "\nringgate_shared_state_placements_total{direction=\"dropped\"} " +
      std::to_string(dropped()) + "\n";
}

void SharedPlacements::append_debug(std::string& out) const {
  out += "{\"current\":";
  out += current_ ? "true" : "false";
  out += ",\"syncs\":" + std::to_string(syncs_) + ",\"errors\":" + std::to_string(errors_) +
         ",\"sent\":" + std::to_string(sent_) + ",\"received\":" + std::to_string(received_) +
         ",\"dropped\":" + std::to_string(dropped()) + ",\"unknownEndpoints\":" + std::to_string(unknown_) +
         ",\"malformed\":" + std::to_string(malformed_) + ",\"lastId\":";
  util::append_json_string(out, last_id_);
  out += ",\"lastError\":";
  util::append_json_string(out, last_error_);
  out += "}";
}

}  // namespace ringgate::control
