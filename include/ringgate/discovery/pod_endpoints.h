#pragma once
// Pods as endpoints, the way GAIE's EPP reads them for an InferencePool: a pod is a
// model server at status.podIP on each of the pool's target ports; it gets traffic
// when its Ready condition is True and it is not being deleted (metadata.deletionTimestamp).
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ringgate/discovery/discovered_endpoint.h"
#include "ringgate/discovery/kv_events_annotation.h"
#include "ringgate/discovery/result.h"
#include "ringgate/sched/context_length_range.h"
#include "ringgate/sched/endpoint_role.h"

namespace ringgate::discovery {

inline constexpr std::size_t max_pod_conditions = 64;
inline constexpr std::size_t kMaxRoleProblemBytes = 120;
inline constexpr std::string_view kDataParallelSizeAnnotation = "data-parallel.ringgate.io/size";
inline constexpr std::uint32_t kMaxAnnotatedDataParallelSize = 64;  // = control::kMaxDataParallelSize

struct PodState {
  std::string name;
  std::string ip;            // status.podIP; empty until scheduled and networked
  bool ready = false;        // status.conditions[type=Ready].status == "True"
  bool terminating = false;  // metadata.deletionTimestamp set
  KvEventsAnnotation kv_events = {};  // metadata.annotations kv-events.ringgate.io/*; a bad one never rejects the pod
  // metadata.labels["llm-d.ai/role"] (sched::kRoleLabel): absent, or a value that is not
  // prefill / decode / both, is `both`; a bad value never rejects the pod, problem
  // says why it was ignored (at most kMaxRoleProblemBytes).
  sched::EndpointRole role = sched::EndpointRole::Both;
  // metadata.annotations["data-parallel.ringgate.io/size"]: the data-parallel ranks behind
  // each of its ports (vLLM internal load balancing), 1..64; 0 = not annotated (learnt from
  // its /metrics). A bad value is ignored as a bad role is.
  uint32_t data_parallel_size = 0;
  // metadata.labels["llm-d.ai/context-length-range"] (sched::kContextLengthLabel): absent is
  // None; a value that does not parse ("min-max") is Malformed, said in `problem`, never
  // trusted, never a reason to reject the pod.
  sched::ContextLengthRange context_range = {};
  std::string problem = {};  // why its role label, data-parallel annotation or context range was ignored
  bool operator==(const PodState&) const = default;
};

Result<PodState> parse_pod(std::string_view json);

// One endpoint per pod with an IP and per port, sorted by (address, port). With several
// ports, each is one data-parallel rank: its position in `ports` (GAIE names it
// "<pod>-rank-<position>").
std::vector<DiscoveredEndpoint> pod_endpoints(const std::map<std::string, PodState>& pods,
                                              const std::vector<std::uint16_t>& ports);

// The labelSelector text for matchLabels (k1=v1,k2=v2), after checking each key and
// value against the Kubernetes label syntax (a hostile selector must not reach a URL).
Result<std::string> label_selector_text(const std::vector<std::pair<std::string, std::string>>& match_labels);

}  // namespace ringgate::discovery
