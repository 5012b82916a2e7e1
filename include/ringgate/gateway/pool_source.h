#pragma once
// Where the pool's membership comes from: a static list (flags, config, demo
// servers; its host names resolved again on an interval), a Kubernetes EndpointSlice watch, or (as GAIE's EPP does) an
// InferencePool watch plus a watch of the pods its selector picks: pods that come,
// go, turn ready or start terminating update the control plane as the events arrive.
// With Kubernetes discovery it also runs the InferenceModelRewrite /
// InferenceObjective watch (kubernetes.watchRules) feeding `rules`.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ringgate/control/control_plane.h"
#include "ringgate/discovery/endpointslice_watch.h"
#include "ringgate/discovery/object_watch.h"
#include "ringgate/discovery/pod_endpoints.h"
#include "ringgate/gateway/rule_objects_watch.h"
#include "ringgate/gateway/rules_source.h"
#include "ringgate/gateway/settings.h"
#include "ringgate/gateway/static_resolver.h"

namespace ringgate::gateway {

// What the control plane is told of discovered endpoints: routable (ready, not
// terminating) as `ready`, and whether each is terminating (draining, shown as such).
std::vector<control::DesiredEndpoint> pool_members(const std::vector<discovery::DiscoveredEndpoint>& found);

class PoolSource {
 public:
  // Starts feeding `control` (and `rules`, if non-null); returns an error message or empty.
  std::string start(const Settings& settings, control::ControlPlane& control, RulesSource* rules = nullptr);
  // A static list (start, or a reload): its host names resolved now and every
  // pool.discovery.resolveInterval (gateway/static_resolver.h).
  void set_static(const Settings& settings);
  void stop();
  ~PoolSource() { stop(); }

 private:
  // The InferencePool's current selection; a change restarts the pod watch.
  struct Selection {
    std::string label_selector;
    std::vector<std::uint16_t> ports;
    bool operator==(const Selection&) const = default;
  };
  void on_pool(std::optional<Selection> selection);  // nullopt: the pool is gone
  void publish_pods();

  control::ControlPlane* control_ = nullptr;
  StaticResolver static_resolver_;
  discovery::KubeApiConfig api_;
  std::string namespace_name_;
  std::unique_ptr<discovery::EndpointSliceWatch> watch_;
  std::unique_ptr<RuleObjectsWatch> rules_watch_;
  // InferencePool discovery. pool_watch_'s thread owns everything below it.
  std::unique_ptr<discovery::ObjectWatch> pool_watch_;
  std::optional<Selection> selection_;
  bool pool_seen_ = false;
  std::unique_ptr<discovery::ObjectWatch> pod_watch_;
  std::map<std::string, discovery::PodState> pods_;  // pod_watch_'s thread
  std::vector<discovery::DiscoveredEndpoint> published_;
  bool have_published_ = false;
};

}  // namespace ringgate::gateway
