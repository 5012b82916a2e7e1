#pragma once
// Where the pool's membership comes from: a static list (flags, config, demo
// servers) given once, or a Kubernetes EndpointSlice watch that keeps updating the
// control plane as pods come, go, turn ready or start terminating.
#include <memory>
#include <string>

#include "ringgate/control/control_plane.h"
#include "ringgate/discovery/endpointslice_watch.h"
#include "ringgate/gateway/settings.h"

namespace ringgate::gateway {

class PoolSource {
 public:
  // Starts feeding `control`; returns an error message or empty.
  std::string start(const Settings& settings, control::ControlPlane& control);
  void stop();
  ~PoolSource() { stop(); }

 private:
  std::unique_ptr<discovery::EndpointSliceWatch> watch_;
};

}  // namespace ringgate::gateway
