#include "ringgate/gateway/pool_source.h"

#include <cstdio>

#include "ringgate/discovery/kube_api_config.h"
#include "ringgate/discovery/target_port.h"

namespace ringgate::gateway {

std::string PoolSource::start(const Settings& settings, control::ControlPlane& control) {
  if (!settings.kubernetes) {
    control.set_endpoints(settings.static_endpoints, /*synced=*/true);
    return {};
  }
  const config::KubernetesDiscovery& k = *settings.kubernetes;
  auto api = k.api_server.empty() ? discovery::in_cluster_config() : discovery::api_url_config(k.api_server);
  if (!api) return "kubernetes discovery: " + api.error().message;
  discovery::EndpointSliceWatchOptions options;
  options.namespace_name = k.namespace_name;
  options.service = k.service;
  if (!k.port_name.empty()) options.port.name = k.port_name;
  else options.port.number = k.port_number;
  discovery::EndpointSliceWatchCallbacks callbacks;
  callbacks.on_change = [&control](const std::vector<discovery::DiscoveredEndpoint>& found) {
    std::vector<control::DesiredEndpoint> members;
    members.reserve(found.size());
    for (const discovery::DiscoveredEndpoint& e : found)
      members.push_back({e.address, e.port, discovery::is_routable(e), e.pod_name});
    control.set_endpoints(std::move(members), /*synced=*/true);
  };
  callbacks.on_error = [](const discovery::Error& e) {
    std::fprintf(stderr, "ringgate: kubernetes discovery: %s (retrying)\n", e.message.c_str());
  };
  watch_ = std::make_unique<discovery::EndpointSliceWatch>(api.value(), options, callbacks);
  if (auto started = watch_->start(); !started) return "kubernetes discovery: " + started.error().message;
  return {};
}

void PoolSource::stop() {
  if (watch_) watch_->stop();
  watch_.reset();
}

}  // namespace ringgate::gateway
