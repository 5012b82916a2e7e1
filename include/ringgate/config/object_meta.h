#pragma once
// The parts of Kubernetes metadata and references that the GAIE documents use.

#include <string>

#include "ringgate/config/config_error.h"

namespace ringgate::config {

struct object_meta {
    std::string name;
    std::string namespace_name;
};

// spec.poolRef of InferenceModelRewrite / InferenceObjective.
struct pool_ref {
    std::string group = "inference.networking.k8s.io";
    std::string kind = "InferencePool";
    std::string name;
    source_position position;
};

}  // namespace ringgate::config
