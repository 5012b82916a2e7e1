#pragma once
// One Gateway API Inference Extension object as the Kubernetes API serves it (the JSON
// of a LIST item or a watch event's "object"), read with the same readers as the config
// file's documents, plus the bounds the API side needs (hostile-input rule: every count
// from the API is capped).
//
// List items carry no kind/apiVersion, so the caller says which kind it asked for.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/config/config_error.h"
#include "ringgate/config/inference_objective.h"
#include "ringgate/config/inference_pool.h"
#include "ringgate/config/model_rewrite.h"

namespace ringgate::config {

enum class GaieKind { InferencePool, ModelRewrite, InferenceObjective };

std::string_view gaie_kind_name(GaieKind kind);

// Caps on what one object from the API may hold; over a cap the object is rejected.
inline constexpr size_t max_api_object_bytes = 1u << 20;  // etcd stores ≤ 1.5 MiB; a GAIE object is ~1 KB
inline constexpr size_t max_api_rewrite_rules = 128;
inline constexpr size_t max_api_rule_matches = 128;
inline constexpr size_t max_api_rule_targets = 64;
inline constexpr size_t max_api_selector_labels = 64;

struct GaieObject {
  GaieKind kind = GaieKind::ModelRewrite;
  std::string creation_timestamp;  // metadata.creationTimestamp (RFC 3339: sorts as text)
  std::optional<InferencePool> pool;
  std::optional<ModelRewrite> rewrite;
  std::optional<InferenceObjective> objective;
};

struct GaieObjectResult {
  GaieObject object;                // meaningful only when ok()
  std::vector<ConfigError> errors;  // every problem found
  bool ok() const { return errors.empty(); }
};

// `json`: one object. `api_version`: the group/version it was listed or watched under.
GaieObjectResult parse_gaie_object(std::string_view json, GaieKind kind, std::string_view api_version);

}  // namespace ringgate::config
