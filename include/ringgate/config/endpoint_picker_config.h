#pragma once
// GAIE's EndpointPickerConfig (apiVersion inference.networking.x-k8s.io/v1alpha1), the file
// the Go EPP takes with --config-file and the inferencepool chart mounts (its
// default-plugins.yaml), read onto ringgate's Gateway settings:
//
//   plugins + the scheduling profile   → scheduler.scorers, each scorer of sched::kScorers
//                                        by its plugin type: queue-scorer → queue,
//                                        kv-cache-utilization-scorer → kv-cache,
//                                        prefix-cache-scorer → prefix,
//                                        lora-affinity-scorer → lora-affinity (its weight
//                                        in the profile, 1 when none, as GAIE; a scorer
//                                        left out of the profile weighs 0);
//                                        prefix-cache-scorer's blockSize →
//                                        scheduler.prefixBlockBytes
//                                        token-load-scorer → token-load, active-request-scorer →
//                                        active-request, no-hit-lru-scorer → no-hit-lru (and
//                                        their parameters)
//   prefix-cache-affinity-filter        → scheduler.filters.prefix-cache-affinity (+ parameters)
//   inflight-load-producer, approx-prefix-cache-producer → what ringgate counts itself
//   max-score-picker, single-profile-handler → what ringgate does anyway
//   saturationDetector                 → saturationDetector (same names; 0 = GAIE's default)
//
// Everything else (other plugin types, other profiles, featureGates, data, unknown
// top-level fields) cannot be honored exactly: it is loaded around and named in
// `warnings`. What the Go EPP refuses (not YAML, another kind, a plugin without a type, a
// profile naming an undefined plugin, unknown fields in what ringgate reads) is an error.

#include <string>
#include <string_view>
#include <vector>

#include "ringgate/config/config_error.h"
#include "ringgate/config/gateway_config.h"

namespace ringgate::config {

inline constexpr std::string_view endpoint_picker_api_version = "inference.networking.x-k8s.io/v1alpha1";
// llm-d's own group since May 2026 (the GAIE one is deprecated there); both are read.
inline constexpr std::string_view llm_d_endpoint_picker_api_version = "llm-d.ai/v1alpha1";
// llm-d v1.0's (2026-10-20): the same document under v1.
inline constexpr std::string_view llm_d_v1_endpoint_picker_api_version = "llm-d.ai/v1";
inline constexpr std::string_view endpoint_picker_kind = "EndpointPickerConfig";

// Bounds on what one file may hold (an operator's file, still bounded).
inline constexpr size_t max_picker_plugins = 256;
inline constexpr size_t max_picker_profiles = 64;

struct PickerConfigResult {
  // The Gateway fields the file maps to, as if a Gateway document had set them:
  // gateway.set_by_file names them (scheduler.scorers.*, scheduler.prefixBlockBytes,
  // saturationDetector.*). Meaningful only when ok().
  GatewayConfig gateway;
  std::vector<std::string> warnings;  // what ringgate does not honor, one line each
  std::vector<ConfigError> errors;    // sorted by position
  bool ok() const { return errors.empty(); }
};

// `file_name` is only used in messages.
PickerConfigResult load_picker_config_text(std::string_view text, std::string_view file_name = "<text>");
PickerConfigResult load_picker_config_file(const std::string& path);

// Puts what `picker` set into `into` (a config file's Gateway), leaf by leaf, under it:
// what `into` set itself stays (defaults < EndpointPickerConfig < --config < flags).
void apply_picker_config(const GatewayConfig& picker, GatewayConfig& into);

}  // namespace ringgate::config
