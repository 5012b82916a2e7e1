#include "ringgate/config/config_set.h"

namespace ringgate::config {

const inference_objective* config_set::find_objective(std::string_view name) const {
    for (const inference_objective& objective : objectives)
        if (objective.metadata.name == name) return &objective;
    return nullptr;
}

}  // namespace ringgate::config
