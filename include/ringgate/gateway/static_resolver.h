#pragma once
// The static pool's names (pool.discovery.static[]; --endpoint's localhost): resolved on a thread of
// their own, at once and then every pool.discovery.resolveInterval, never on the control
// thread or a worker (getaddrinfo blocks for as long as the resolver takes, seconds when a
// DNS server does not answer; the control loop must keep scraping and the admin port must
// keep answering). Each round that changes an address set hands the control plane the
// whole membership, as a Kubernetes watch does (control::StaticResolution says what it
// is); a name that fails keeps its last good addresses and counts
// ringgate_discovery_resolve_failures_total. A list without names is handed over as it is
// and starts no thread.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "ringgate/control/control_plane.h"
#include "ringgate/control/static_resolution.h"

namespace ringgate::gateway {

class StaticResolver {
 public:
  StaticResolver() = default;
  StaticResolver(const StaticResolver&) = delete;
  StaticResolver& operator=(const StaticResolver&) = delete;
  ~StaticResolver() { stop(); }

  // The entries (a reload gives them again): resolved now (on the thread) and every `interval`.
  void set(std::vector<control::DesiredEndpoint> entries, std::chrono::milliseconds interval,
           control::ControlPlane& control);
  void stop();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<std::vector<control::DesiredEndpoint>> pending_;  // mutex_
  std::chrono::milliseconds interval_{30000};                     // mutex_
  bool stopping_ = false;                                         // mutex_
  control::ControlPlane* control_ = nullptr;
  std::thread thread_;
};

}  // namespace ringgate::gateway
