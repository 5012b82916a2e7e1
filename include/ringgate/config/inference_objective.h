#pragma once
// `kind: InferenceObjective` (apiVersion inference.networking.x-k8s.io/v1alpha2):
//   metadata: {name: batch}
//   spec: {priority: -1, poolRef: {name: vllm}}
// A request is associated with an objective the GAIE way: by the request header
// `x-gateway-inference-objective` (llm-d's newer spelling: `x-llm-d-inference-objective`)
// whose value is the objective's metadata.name. Priority is a stack rank (higher first,
// default 0); a negative priority makes the request sheddable: answered 429 when every
// endpoint is saturated.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ringgate/config/config_error.h"
#include "ringgate/config/object_meta.h"

namespace ringgate::config {

inline constexpr std::string_view inference_objective_kind = "InferenceObjective";
inline constexpr std::string_view inference_objective_header = "x-gateway-inference-objective";
inline constexpr std::string_view inference_objective_header_llmd = "x-llm-d-inference-objective";

struct InferenceObjective {
  ObjectMeta metadata;          // metadata.name required, unique in the file
  int32_t priority = 0;         // spec.priority
  std::optional<PoolRef> pool;  // spec.poolRef (required by the CRD, optional here: absent = the gateway's pool)
  SourcePosition position;

  bool sheddable() const { return priority < 0; }
};

}  // namespace ringgate::config
