#pragma once
// Everything one config file declares: its documents, validated and with defaults applied.

#include <string_view>
#include <vector>

#include "ringgate/config/gateway_config.h"
#include "ringgate/config/inference_objective.h"
#include "ringgate/config/inference_pool.h"
#include "ringgate/config/model_rewrite.h"

namespace ringgate::config {

struct config_set {
    gateway_config gateway;             // all defaults when the file has no Gateway document
    bool has_gateway_document = false;
    bool has_pool = false;              // the Gateway document has a `pool` section
    std::vector<model_rewrite> rewrites;        // file order = precedence order
    std::vector<inference_pool> pools;
    std::vector<inference_objective> objectives;

    // The objective a request names in its objective header, or nullptr.
    const inference_objective* find_objective(std::string_view name) const;
};

}  // namespace ringgate::config
