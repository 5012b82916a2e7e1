#pragma once
// Placements shared by the gateway's replicas through Redis (part of sharedState), so
// that every replica's prefix index holds what all of them routed: a conversation's next
// turn, or a system prompt's next request, finds where the previous one went whichever
// replica routed it, and the replicas score like one gateway (sched/scheduler.h, the
// snapshot's prefix_index_shared). Control thread only; the workers only write their
// rings (sched/placement_record.h) and never wait on Redis.
//
// Every sync, one Lua script (one round trip) appends this replica's placements since
// the last sync to one Redis stream as a single entry (PREFIX:POOL:placements, trimmed to
// kStreamEntries, expiring when nobody syncs) and returns the others' entries after the
// last one this replica read, at most kReadEntries of them; a replica that joins reads the
// recent history first. An entry's payload is records of an endpoint's address and a
// prompt's leading entries (placement_payload.h). Everything read is bounded and checked: a
// malformed entry is counted and left where it breaks, the rest applied.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ringgate/control/stream_exchange.h"
#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/sched/placement_record.h"
#include "ringgate/sched/prefix_index.h"

namespace ringgate::control {

class SharedPlacements {
 public:
  static constexpr size_t kMaxEntryBytes = 32 * 1024;  // one sync's placements; more are dropped
  static constexpr size_t kReadEntries = 16;           // the others' entries read a sync (<= 512 KB)
  static constexpr size_t kStreamEntries = 4096;       // what the stream keeps

  // `workers`: one ring each. `prefix`: PREFIX:POOL.
  SharedPlacements(RedisClient& client, sched::PrefixIndex& index, size_t workers, std::string prefix,
                   std::string replica_id, std::chrono::milliseconds ttl);

  sched::PlacementRing* rings() { return rings_.get(); }
  size_t ring_count() const { return ring_count_; }

  // Sends what the workers routed since the last sync and asks for the others' (nothing
  // when the last reply is still awaited: the rings keep the records meanwhile).
  void sync(const sched::EndpointSnapshot& snapshot);
  // True while the last sync was answered: this replica's index holds the others' routing.
  bool current() const { return exchange_.current(); }
  void go_local() { exchange_.go_local(); }

  void append_metrics(std::string& out) const;
  void append_debug(std::string& out) const;  // a JSON object

 private:
  // One stream entry's payload into the index (addresses by their hash, as the snapshot
  // knows them); returns false when malformed (what came before the fault is applied).
  bool apply(std::string_view payload);
  uint64_t dropped() const;  // not passed on: the rings' and the entry's
  void append_record(const sched::EndpointSnapshot& snapshot, const sched::PlacementRecord& record);

  sched::PrefixIndex& index_;
  size_t ring_count_;
  std::unique_ptr<sched::PlacementRing[]> rings_;
  StreamExchange exchange_;
  std::string payload_;                                  // this sync's entry, being built
  std::unordered_map<uint64_t, sched::EndpointId> ids_;  // address hash -> id, as of the last send
  uint64_t ids_version_ = 0;                             // the snapshot ids_ was built from (0: none)
  uint64_t sent_ = 0, received_ = 0, dropped_ = 0, unknown_ = 0;
};

}  // namespace ringgate::control
