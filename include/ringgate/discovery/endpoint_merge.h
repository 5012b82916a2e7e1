#pragma once
// Merges a service's EndpointSlices into one endpoint set.
#include <map>
#include <string>
#include <vector>

#include "ringgate/discovery/discovered_endpoint.h"
#include "ringgate/discovery/endpoint_slice.h"
#include "ringgate/discovery/target_port.h"

namespace ringgate::discovery {

// Rules:
//  - IPv4 and IPv6 slices are used; FQDN/unknown address types are skipped.
//  - The port comes from each slice's ports[] (TCP only): by name, or by number.
//    A slice with no ports at all and a numbered target uses that number;
//    otherwise a slice without a matching port contributes nothing.
//  - Each endpoint contributes its first address (addresses are fungible).
//  - The same address:port in several slices appears once; the routable copy
//    wins (then the one from the slice whose name sorts first).
//  - Result sorted by (address, port), so equal sets compare equal.
std::vector<DiscoveredEndpoint> merge_slices(const std::map<std::string, EndpointSlice>& slices_by_name,
                                             const TargetPort& target);

}  // namespace ringgate::discovery
