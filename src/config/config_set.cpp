#include "ringgate/config/config_set.h"

namespace ringgate::config {

const InferenceObjective* ConfigSet::find_objective(std::string_view name) const {
  for (const InferenceObjective& objective : objectives)
    if (objective.metadata.name == name) return &objective;
  return nullptr;
}

}  // namespace ringgate::config
