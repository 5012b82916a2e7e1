#pragma once
// Request targets for listing and watching one service's EndpointSlices.
#include <string>
#include <string_view>

#include "ringgate/discovery/result.h"

namespace ringgate::discovery {

// /apis/discovery.k8s.io/v1/namespaces/NS/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3DSVC
std::string endpointslice_list_path(std::string_view namespace_name, std::string_view service);
// … &watch=1&allowWatchBookmarks=true&resourceVersion=RV&timeoutSeconds=T
std::string endpointslice_watch_path(std::string_view namespace_name, std::string_view service,
                                     std::string_view resource_version, int timeout_seconds);
// Namespace and service names must be DNS-1123 labels; Error says which is wrong.
Result<void> validate_object_name(std::string_view what, std::string_view name);

}  // namespace ringgate::discovery
