#pragma once
// One backend address discovered from the EndpointSlices of a service.
#include <cstdint>
#include <string>

#include "ringgate/discovery/kv_events_annotation.h"
#include "ringgate/sched/context_length_range.h"
#include "ringgate/sched/endpoint_role.h"

namespace ringgate::discovery {

struct DiscoveredEndpoint {
  std::string address;  // IPv4 or IPv6 literal (no brackets)
  std::uint16_t port = 0;
  bool ready = true;        // conditions.ready (absent = true)
  bool serving = true;      // conditions.serving (absent = ready)
  bool terminating = false; // conditions.terminating (absent = false)
  std::string pod_name;     // targetRef.name
  std::string zone;
  KvEventsAnnotation kv_events = {};  // from the pod's annotations (InferencePool discovery only)
  // The pod's llm-d.ai/role label (InferencePool discovery only; EndpointSlices: both).
  sched::EndpointRole role = sched::EndpointRole::Both;
  // Data parallelism (control::DesiredEndpoint): the rank of this port (-1: none), or the
  // ranks behind it from its pod's annotation (0: learnt).
  std::int32_t rank = -1;
  std::uint32_t data_parallel_size = 0;
  // The pod's llm-d.ai/context-length-range label (InferencePool discovery only).
  sched::ContextLengthRange context_range = {};
  bool operator==(const DiscoveredEndpoint&) const = default;
};

// The routable set is exactly the endpoints where this is true: ready and not
// terminating. Not-ready and terminating endpoints stay in the published set
// (so observers see them) but must not get traffic.
inline bool is_routable(const DiscoveredEndpoint& endpoint) {
  return endpoint.ready && !endpoint.terminating;
}

}  // namespace ringgate::discovery
