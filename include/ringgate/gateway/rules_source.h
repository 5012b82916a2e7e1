#pragma once
// The one place the request rules are composed and published: the config file's
// documents (initial load and every reload) plus the InferenceModelRewrite /
// InferenceObjective objects watched from the Kubernetes API. Either side changing
// publishes a new RequestRules (and the /v1/models aliases) at once, so a watched
// rewrite and a file reload take the same path to the workers.
//
// Precedence: the file's rewrites first (file order), then the API's, oldest first
// (metadata.creationTimestamp, then namespace/name): GAIE's "oldest wins" for a model
// matched twice. RewriteTable::build keeps the first rule for a model.
//
// Thread-safe: the main thread (reloads) and the watch threads call it.
#include <mutex>
#include <optional>
#include <vector>

#include "ringgate/config/config_set.h"
#include "ringgate/control/control_plane.h"
#include "ringgate/proxy/request_rules.h"

namespace ringgate::gateway {

class RulesSource {
 public:
  RulesSource(proxy::RulesPublisher& rules, control::ControlPlane& control) : rules_(rules), control_(control) {}

  // nullptr = no config file.
  void set_file(const config::ConfigSet* file);
  // Already in precedence order.
  void set_api_rewrites(std::vector<config::ModelRewrite> rewrites);
  void set_api_objectives(std::vector<config::InferenceObjective> objectives);

 private:
  void publish_locked();

  proxy::RulesPublisher& rules_;
  control::ControlPlane& control_;
  std::mutex mutex_;
  std::optional<config::ConfigSet> file_;
  std::vector<config::ModelRewrite> api_rewrites_;
  std::vector<config::InferenceObjective> api_objectives_;
};

}  // namespace ringgate::gateway
