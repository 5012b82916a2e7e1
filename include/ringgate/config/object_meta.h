#pragma once
// The parts of Kubernetes metadata and references that the GAIE documents use.

#include <string>

#include "ringgate/config/config_error.h"

namespace ringgate::config {

struct ObjectMeta {
  std::string name;
  std::string namespace_name;
};

// spec.poolRef of InferenceModelRewrite / InferenceObjective.
struct PoolRef {
  std::string group = "inference.networking.k8s.io";
  std::string kind = "InferencePool";
  std::string name;
  SourcePosition position;
};

}  // namespace ringgate::config
