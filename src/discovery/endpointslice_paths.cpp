#include "ringgate/discovery/endpointslice_paths.h"

namespace ringgate::discovery {

std::string endpointslice_list_path(std::string_view namespace_name, std::string_view service) {
  std::string path = "/apis/discovery.k8s.io/v1/namespaces/";
  path += namespace_name;
  path += "/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3D";
  path += service;  // a validated DNS label: nothing to escape
  return path;
}

std::string endpointslice_watch_path(std::string_view namespace_name, std::string_view service,
                                     std::string_view resource_version, int timeout_seconds) {
  std::string path = endpointslice_list_path(namespace_name, service);
  path += "&watch=1&allowWatchBookmarks=true";
  if (!resource_version.empty()) {
    path += "&resourceVersion=";
    for (char c : resource_version) {  // opaque string from the server: escape anything odd
      bool plain = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   c == '-' || c == '_' || c == '.' || c == '~';
      if (plain) {
        path += c;
      } else {
        static constexpr char kHex[] = "0123456789ABCDEF";
        path += '%';
        path += kHex[(static_cast<unsigned char>(c) >> 4) & 0xF];
        path += kHex[static_cast<unsigned char>(c) & 0xF];
      }
    }
  }
  path += "&timeoutSeconds=" + std::to_string(timeout_seconds);
  return path;
}

Result<void> validate_object_name(std::string_view what, std::string_view name) {
  bool valid = !name.empty() && name.size() <= 63 && name.front() != '-' && name.back() != '-';
  for (char c : name) valid = valid && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  if (!valid)
    return Error{std::string(what) + " \"" + std::string(name) +
                 "\" is not a valid name (1-63 lowercase letters, digits and '-', starting and "
                 "ending with a letter or digit)"};
  return {};
}

}  // namespace ringgate::discovery
