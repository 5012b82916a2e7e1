#include "ringgate/sched/scorer_registry.h"

namespace ringgate::sched {

std::string known_scorer_names() {
  std::string out;
  for (const Scorer& s : kScorers) (out.empty() ? out : out += ", ") += s.name;
  return out;
}

std::string known_scorer_plugin_types() {
  std::string out;
  for (const Scorer& s : kScorers) (out.empty() ? out : out += ", ") += s.plugin_type;
  return out;
}

}  // namespace ringgate::sched
