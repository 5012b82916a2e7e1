#include "ringgate/control/shared_placements.h"

#include <xxhash.h>

#include <algorithm>
#include <vector>

#include "ringgate/control/placement_payload.h"
#include "ringgate/util/json_text.h"

namespace ringgate::control {

SharedPlacements::SharedPlacements(RedisClient& client, sched::PrefixIndex& index, size_t workers, std::string prefix,
                                   std::string replica_id, std::chrono::milliseconds ttl)
    : index_(index),
      ring_count_(workers),
      rings_(std::make_unique<sched::PlacementRing[]>(workers)),
      exchange_(client, "placements", std::move(prefix) + ":placements", std::move(replica_id), ttl,
                {kMaxEntryBytes, kReadEntries, kStreamEntries}, [this](std::string_view p) { return apply(p); }) {
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
  if (!exchange_.ready()) return;
  payload_.clear();
  for (size_t i = 0; i < ring_count_; ++i)
    rings_[i].drain([&](const sched::PlacementRecord& r) { append_record(snapshot, r); });
  // What the reply's addresses mean: the endpoints as this snapshot knows them.
  if (snapshot.version() != ids_version_ || ids_version_ == 0) {
    ids_.clear();
    for (const sched::EndpointState& e : snapshot.endpoints()) ids_.emplace(e.address_hash, e.id);
    ids_version_ = snapshot.version();
  }
  exchange_.send(payload_);
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
      std::to_string(exchange_.syncs()) +
      "\n# HELP ringgate_shared_state_placements_total Placements passed to or taken from the other replicas "
      "(dropped: not passed on, a ring or one sync's entry full).\n"
      "# TYPE ringgate_shared_state_placements_total counter\n"
      "ringgate_shared_state_placements_total{direction=\"sent\"} " +
      std::to_string(sent_) + "\nringgate_shared_state_placements_total{direction=\"received\"} " +
      std::to_string(received_) + "\nringgate_shared_state_placements_total{direction=\"dropped\"} " +
      std::to_string(dropped()) + "\n";
}

void SharedPlacements::append_debug(std::string& out) const {
  out += "{\"sent\":" + std::to_string(sent_) + ",\"received\":" + std::to_string(received_) +
         ",\"dropped\":" + std::to_string(dropped()) + ",\"unknownEndpoints\":" + std::to_string(unknown_);
  exchange_.append_debug_members(out);
  out += "}";
}

}  // namespace ringgate::control
