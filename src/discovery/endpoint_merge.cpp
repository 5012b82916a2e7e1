#include "ringgate/discovery/endpoint_merge.h"

#include <arpa/inet.h>

#include <optional>
#include <utility>

namespace ringgate::discovery {
namespace {

// The slice's port for `target`, or nullopt when the slice offers none.
std::optional<int> slice_port(const EndpointSlice& slice, const TargetPort& target) {
  if (slice.ports.empty()) {
    if (target.number > 0) return target.number;  // no ports listed: not restricted
    return std::nullopt;
  }
  for (const EndpointSlicePort& port : slice.ports) {
    if (port.protocol != "TCP" || !port.port) continue;
    if (target.number > 0 ? *port.port == target.number : port.name.value_or("") == target.name) return port.port;
  }
  return std::nullopt;
}

bool valid_address(const std::string& address, AddressType type) {
  unsigned char buffer[sizeof(in6_addr)];
  return ::inet_pton(type == AddressType::ipv4 ? AF_INET : AF_INET6, address.c_str(), buffer) == 1;
}

DiscoveredEndpoint discovered(const EndpointSliceEndpoint& endpoint, int port) {
  DiscoveredEndpoint out;
  out.address = endpoint.addresses.front();
  out.port = static_cast<std::uint16_t>(port);
  out.ready = endpoint.ready.value_or(true);
  out.serving = endpoint.serving.value_or(out.ready);
  out.terminating = endpoint.terminating.value_or(false);
  out.pod_name = endpoint.pod_name;
  out.zone = endpoint.zone;
  return out;
}

}  // namespace

std::vector<DiscoveredEndpoint> merge_slices(const std::map<std::string, EndpointSlice>& slices_by_name,
                                             const TargetPort& target) {
  std::map<std::pair<std::string, std::uint16_t>, DiscoveredEndpoint> by_address;  // sorted, deduped
  // std::map iterates slices by name, so "first slice wins" is deterministic.
  for (const auto& [name, slice] : slices_by_name) {
    if (slice.address_type != AddressType::ipv4 && slice.address_type != AddressType::ipv6) continue;
    auto port = slice_port(slice, target);
    if (!port) continue;
    for (const EndpointSliceEndpoint& endpoint : slice.endpoints) {
      if (endpoint.addresses.empty() || !valid_address(endpoint.addresses.front(), slice.address_type)) continue;
      DiscoveredEndpoint candidate = discovered(endpoint, *port);
      auto key = std::make_pair(candidate.address, candidate.port);
      auto [it, inserted] = by_address.try_emplace(std::move(key), candidate);
      if (!inserted && !is_routable(it->second) && is_routable(candidate)) it->second = std::move(candidate);
    }
  }
  std::vector<DiscoveredEndpoint> merged;
  merged.reserve(by_address.size());
  for (auto& [key, endpoint] : by_address) merged.push_back(std::move(endpoint));
  return merged;
}

}  // namespace ringgate::discovery
