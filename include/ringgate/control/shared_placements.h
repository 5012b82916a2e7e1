#pragma once
// Placements shared by the gateway's replicas through Redis (part of sharedState), so
// that every replica's prefix index holds what all of them routed: a conversation's next
// turn, or a system prompt's next request, finds where the previous one went whichever
// replica routed it, and the replicas score like one gateway (sched/scheduler.h, the
// snapshot's prefix_index_shared). The workers only write their rings
// (sched/placement_record.h) and never wait on Redis; the stream is a SharedStream
// (shared_stream.h), PREFIX:POOL:placements, expiring when nobody syncs; a replica that
// joins reads the recent history first. An entry's payload is records of an endpoint's
// address and a prompt's leading entries (placement_payload.h).
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ringgate/control/shared_stream.h"
#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/sched/placement_record.h"
#include "ringgate/sched/prefix_index.h"

namespace ringgate::control {

class PlacementStream {
 public:
  static constexpr StreamNames kNames = {
      "placements",
      "ringgate_shared_state_placement_syncs_total",
      "Placement exchanges answered by Redis.",
      "ringgate_shared_state_placements_total",
      "Placements passed to or taken from the other replicas (dropped: not passed on, a ring or one sync's entry "
      "full).",
      false};
  static constexpr size_t kRingSize = sched::kPlacementRingSize;

  // `index`: where the others' placements go.
  explicit PlacementStream(sched::PrefixIndex& index) : index_(index) {}

  // What the reply's addresses mean: the endpoints as `snapshot` knows them.
  void begin(const sched::EndpointSnapshot& snapshot);
  // Skipped when the endpoint left the pool since.
  StreamAppend append(std::string& entry, size_t max_bytes, const sched::PlacementRecord& record,
                      const sched::EndpointSnapshot& snapshot);
  // Into the index (addresses by their hash, as the snapshot knows them).
  bool apply(std::string_view payload, uint64_t& received);
  void append_debug_members(std::string& out) const;  // unknownEndpoints

 private:
  sched::PrefixIndex& index_;
  std::unordered_map<uint64_t, sched::EndpointId> ids_;  // address hash -> id, as of the last send
  uint64_t ids_version_ = 0;                             // the snapshot ids_ was built from (0: none)
  uint64_t unknown_ = 0;                                 // addresses another replica knows and this one not (yet)
};

using SharedPlacements = SharedStream<sched::PlacementRecord, PlacementStream>;

}  // namespace ringgate::control
