#include "ringgate/control/catalog_feed.h"

#include <memory>

namespace ringgate::control {

void CatalogFeed::publish(const sched::EndpointSnapshot& snapshot) {
  if (!catalog_) return;
  std::vector<std::string> names;
  {
    std::lock_guard lock(mutex_);
    names = aliases_;
    aliases_changed_ = false;
  }
  // Models the routable endpoints serve (an alias first: it is what clients ask for);
  // the models of the others may still be statistics labels (a restarting pod's model).
  std::vector<std::string> known;
  for (const sched::EndpointState& e : snapshot.endpoints()) {
    std::vector<std::string>& into = e.routable ? names : known;
    for (const std::string& m : e.models) into.push_back(m);
    for (const std::string& a : e.lora_adapters) into.push_back(a);
  }
  if (names == names_ && known == known_) return;
  names_ = names;
  known_ = known;
  catalog_->publish(std::make_unique<proxy::ModelCatalog>(std::move(names), std::move(known)));  // deduplicates
}

}  // namespace ringgate::control
