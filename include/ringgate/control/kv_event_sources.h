#pragma once
// Precise prefix mode's side of the control thread (scheduler.precise_prefix): the
// KV-event block index the workers score from, the subscriber that fills it, and where
// each endpoint publishes its events: an explicit kvEvents.endpoints entry, else its host
// and the ports its pod's kv-events.ringgate.io annotations name, else kvEvents.port
// (replayPort), each offset by a data-parallel rank. Only changes reach the subscriber.
// Control thread.
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ringgate/config/gateway_config.h"
#include "ringgate/control/endpoint_pool.h"
#include "ringgate/control/kv_event_subscriber.h"
#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/sched/exact_block_index.h"
#include "ringgate/sched/scheduler_config.h"

namespace ringgate::control {

class KvEventSources {
 public:
  KvEventSources(const config::KvEventsConfig& kv, const sched::SchedulerConfig& scheduler);

  const sched::ExactBlockIndex& index() const { return exact_; }
  const KvEventSubscriberCounters& counters() const { return subscriber_.counters(); }

  // A new membership: the pods' annotations by (host, port), only where one is set or was
  // refused (a refusal is logged once per change).
  void note_annotations(const std::vector<DesiredEndpoint>& members);
  // Annotations edited since the last update(): a quiet pool publishes no snapshot to carry them.
  bool annotations_changed() const { return annotations_changed_; }
  // The endpoints of `snapshot` and their event addresses.
  void update(const sched::EndpointSnapshot& snapshot);

  // For /debug/endpoints: where `id`'s events come from (null: not followed), and why its
  // pod's annotation was refused (empty: it was not).
  const KvEventSource* source(sched::EndpointId id) const;
  std::string_view annotation_problem(sched::EndpointId id) const;

 private:
  const config::KvEventsConfig& kv_;
  sched::ExactBlockIndex exact_;
  KvEventSubscriber subscriber_;
  std::vector<KvEventSource> sources_;  // what the subscriber follows
  struct Annotation {
    uint16_t port = 0;
    uint16_t replay_port = 0;
    std::string problem;
    bool operator==(const Annotation&) const = default;
  };
  std::map<std::pair<std::string, uint16_t>, Annotation> annotations_;
  bool annotations_changed_ = false;
  std::unordered_map<sched::EndpointId, std::string> annotation_problems_;
};

}  // namespace ringgate::control
