#include "ringgate/control/shared_placements.h"

#include <xxhash.h>

#include <algorithm>
#include <span>

#include "ringgate/control/placement_payload.h"

namespace ringgate::control {

void PlacementStream::begin(const sched::EndpointSnapshot& snapshot) {
  if (snapshot.version() == ids_version_ && ids_version_ != 0) return;
  ids_.clear();
  for (const sched::EndpointState& e : snapshot.endpoints()) ids_.emplace(e.address_hash, e.id);
  ids_version_ = snapshot.version();
}

StreamAppend PlacementStream::append(std::string& entry, size_t max_bytes, const sched::PlacementRecord& record,
                                     const sched::EndpointSnapshot& snapshot) {
  const ptrdiff_t pos = snapshot.index_of(record.endpoint);
  if (pos < 0) return StreamAppend::Skipped;  // it left the pool since
  const std::string address = snapshot.at(size_t(pos)).address.text();
  const size_t count = std::min<size_t>(record.count, sched::kMaxPlacementEntries);
  if (entry.size() + placement_record_bytes(address.size(), count) > max_bytes ||
      !append_placement(entry, address, std::span<const uint64_t>(record.hashes.data(), count)))
    return StreamAppend::Dropped;
  return StreamAppend::Sent;
}

bool PlacementStream::apply(std::string_view payload, uint64_t& received) {
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
    ++received;
  }
}

void PlacementStream::append_debug_members(std::string& out) const {
  out += ",\"unknownEndpoints\":" + std::to_string(unknown_);
}

}  // namespace ringgate::control
