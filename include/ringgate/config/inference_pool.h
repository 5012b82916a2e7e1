#pragma once
// `kind: InferencePool`, used in Kubernetes mode to describe the model-server pods.
// Two GAIE versions are accepted:
//   inference.networking.k8s.io/v1:
//     spec: {selector: {matchLabels: {k: v}}, targetPorts: [{number: 8000}], endpointPickerRef: {...}}
//   inference.networking.x-k8s.io/v1alpha2:
//     spec: {selector: {k: v}, targetPortNumber: 8000, extensionRef: {...}}
// ringgate is its own endpoint picker, so endpointPickerRef / extensionRef are checked
// for shape and otherwise ignored (and optional).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ringgate/config/config_error.h"
#include "ringgate/config/object_meta.h"

namespace ringgate::config {

inline constexpr std::string_view inference_v1_api_version = "inference.networking.k8s.io/v1";
inline constexpr std::string_view inference_pool_kind = "InferencePool";
inline constexpr size_t kMaxTargetPorts = 8;  // GAIE v1's bound on spec.targetPorts
inline constexpr int64_t kMaxDataParallelSize = 64;  // a static entry's dataParallelSize (control::kMaxDataParallelSize)

struct InferencePool {
  std::string api_version;
  ObjectMeta metadata;  // metadata.name required
  // Pod labels that must all match, in file order.
  std::vector<std::pair<std::string, std::string>> selector;
  // v1: targetPorts[].number, 1..8 distinct ports (several: one data-parallel rank each, in
  // rank order); v1alpha2: [targetPortNumber].
  std::vector<uint16_t> target_ports;
  SourcePosition position;
};

}  // namespace ringgate::config
