#pragma once
// Watches the pool's InferenceModelRewrite and InferenceObjective objects
// (inference.networking.x-k8s.io/v1alpha2) in one namespace and hands them to the
// RulesSource on every change: a `kubectl apply` takes effect as soon as its watch
// event arrives. Objects whose spec.poolRef names another pool are ignored (as GAIE's
// EPP does). A malformed object is logged, counted in
// ringgate_kube_objects_rejected_total{kind}, and the last good version of that object
// (if any) stays in force.
//
// API permissions used: list and watch on inferencemodelrewrites and
// inferenceobjectives in API group inference.networking.x-k8s.io.
#include <memory>
#include <string>

#include "ringgate/control/control_plane.h"
#include "ringgate/discovery/kube_api_config.h"
#include "ringgate/discovery/object_watch.h"
#include "ringgate/gateway/rules_source.h"

namespace ringgate::gateway {

class RuleObjectsWatch {
 public:
  RuleObjectsWatch(discovery::KubeApiConfig api, std::string namespace_name, std::string pool_name,
                   RulesSource& rules, control::ControlPlane& control);
  ~RuleObjectsWatch();

  // Returns an error message or empty.
  std::string start();
  void stop();

 private:
  struct RewriteState;
  struct ObjectiveState;

  discovery::KubeApiConfig api_;
  std::string namespace_name_, pool_name_;
  RulesSource& rules_;
  control::ControlPlane& control_;
  std::unique_ptr<RewriteState> rewrites_;
  std::unique_ptr<ObjectiveState> objectives_;
  std::unique_ptr<discovery::ObjectWatch> rewrite_watch_, objective_watch_;
};

}  // namespace ringgate::gateway
