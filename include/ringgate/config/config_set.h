#pragma once
// Everything one config file declares: its documents, validated and with defaults applied.

#include <string_view>
#include <vector>

#include "ringgate/config/gateway_config.h"
#include "ringgate/config/inference_objective.h"
#include "ringgate/config/inference_pool.h"
#include "ringgate/config/model_rewrite.h"

namespace ringgate::config {

struct ConfigSet {
  GatewayConfig gateway;  // all defaults when the file has no Gateway document
  bool has_gateway_document = false;
  bool has_pool = false;               // the Gateway document has a `pool` section
  std::vector<ModelRewrite> rewrites;  // file order = precedence order
  std::vector<InferencePool> pools;
  std::vector<InferenceObjective> objectives;

  // The objective a request names in its objective header, or nullptr.
  const InferenceObjective* find_objective(std::string_view name) const;
};

}  // namespace ringgate::config
