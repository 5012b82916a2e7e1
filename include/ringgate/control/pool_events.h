#pragma once
// The pool's changes as events for the status page (/debug/events, event_log.h):
// endpoints that joined, left, or became routable or not at each snapshot, and the
// passive ejections and readmissions the workers' requests caused. Control thread.
#include <cstdint>
#include <vector>

#include "ringgate/control/endpoint_pool.h"
#include "ringgate/control/event_log.h"
#include "ringgate/proxy/passive_health.h"
#include "ringgate/sched/endpoint_snapshot.h"

namespace ringgate::control {

class PoolEvents {
 public:
  PoolEvents(EventLog& events, const EndpointPool& pool, const proxy::PassiveHealth& health)
      : events_(events), pool_(pool), health_(health) {}

  // A snapshot is published: what changed since `previous` (the last one; null: none).
  void published(const sched::EndpointSnapshot* previous, const sched::EndpointSnapshot& next);
  // Every turn: ejections and readmissions of the endpoints of `current`.
  void note_passive_health(const sched::EndpointSnapshot* current);

 private:
  EventLog& events_;
  const EndpointPool& pool_;
  const proxy::PassiveHealth& health_;
  // Each endpoint id as the last snapshot had it.
  static constexpr uint8_t kAbsent = 0, kUnroutable = 1, kRoutable = 2;
  std::vector<uint8_t> member_state_;
  size_t members_ = 0;  // endpoints in the last snapshot
  // What note_passive_health() saw last, per endpoint id.
  struct PassiveSeen {
    uint64_t ejections = 0;
    bool out = false;  // ejected or half-open
  };
  std::vector<PassiveSeen> passive_seen_;
  uint64_t passive_ejections_seen_ = 0;
  bool passive_any_out_ = false;
};

}  // namespace ringgate::control
