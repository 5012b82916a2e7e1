#pragma once
// What GET /v1/models answers (proxy/model_catalog.h): the models the routable endpoints
// serve plus the rewrite aliases (set_aliases() changes them on a reload, any thread),
// and the models of the others, still statistics labels (a restarting pod's model).
// Published only when it changes. The control thread publishes.
#include <mutex>
#include <string>
#include <vector>

#include "ringgate/proxy/model_catalog.h"
#include "ringgate/sched/endpoint_snapshot.h"

namespace ringgate::control {

class CatalogFeed {
 public:
  // Before the control thread starts: where the catalog goes (null: nowhere).
  void attach(proxy::CatalogPublisher* catalog) { catalog_ = catalog; }
  // Any thread: the aliases now (publish() is due).
  void set_aliases(std::vector<std::string> aliases) {
    std::lock_guard lock(mutex_);
    aliases_ = std::move(aliases);
    aliases_changed_ = true;
  }
  bool aliases_changed() const {
    std::lock_guard lock(mutex_);
    return aliases_changed_;
  }
  std::vector<std::string> aliases() const {
    std::lock_guard lock(mutex_);
    return aliases_;
  }
  // Control thread: the catalog of `snapshot`, if it differs from the last published.
  void publish(const sched::EndpointSnapshot& snapshot);

 private:
  proxy::CatalogPublisher* catalog_ = nullptr;
  mutable std::mutex mutex_;  // aliases_, aliases_changed_
  std::vector<std::string> aliases_;
  bool aliases_changed_ = false;
  std::vector<std::string> names_, known_;  // control thread: the last published
};

}  // namespace ringgate::control
