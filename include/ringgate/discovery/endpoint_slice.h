#pragma once
// The parts of a discovery.k8s.io/v1 EndpointSlice that discovery uses, and
// their JSON parsers (simdjson). Absent optional fields stay std::nullopt so
// the merge can apply the API's documented defaults.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/discovery/result.h"

namespace ringgate::discovery {

enum class AddressType { ipv4, ipv6, fqdn, unknown };

struct EndpointSlicePort {
  std::optional<std::string> name;  // absent for a single unnamed port
  std::optional<int> port;          // absent: "ports are not restricted"
  std::string protocol = "TCP";     // absent means TCP
};

struct EndpointSliceEndpoint {
  std::vector<std::string> addresses;  // fungible; the first one is used
  std::optional<bool> ready;           // absent: treat as ready
  std::optional<bool> serving;         // absent: same as ready
  std::optional<bool> terminating;     // absent: not terminating
  std::string pod_name;                // targetRef.name when targetRef.kind is Pod (or absent kind)
  std::string node_name;
  std::string zone;
};

struct EndpointSlice {
  std::string name;              // metadata.name
  std::string namespace_name;    // metadata.namespace
  std::string resource_version;  // metadata.resourceVersion
  std::string service_name;      // metadata.labels["kubernetes.io/service-name"]
  AddressType address_type = AddressType::unknown;
  std::vector<EndpointSlicePort> ports;
  std::vector<EndpointSliceEndpoint> endpoints;
};

struct EndpointSliceList {
  std::string resource_version;  // metadata.resourceVersion: where the watch starts
  std::vector<EndpointSlice> items;
};

// One EndpointSlice object (as in a watch event's "object").
Result<EndpointSlice> parse_endpoint_slice(std::string_view json);
// A List response ({"kind":"EndpointSliceList","metadata":{"resourceVersion"},"items":[…]}).
Result<EndpointSliceList> parse_endpoint_slice_list(std::string_view json);

}  // namespace ringgate::discovery
