#pragma once
// Where the Kubernetes API server is and how to authenticate to it.
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/discovery/result.h"

namespace ringgate::discovery {

inline constexpr std::string_view kDefaultServiceAccountDir =
    "/var/run/secrets/kubernetes.io/serviceaccount";

struct KubeApiConfig {
  bool tls = false;          // https with CA verification, else plain http
  std::string host;          // name or IP, IPv6 without brackets
  std::uint16_t port = 0;
  std::string ca_file;       // PEM bundle that must sign the server cert (tls only)
  // Read again at every connect (bound service-account tokens rotate).
  // Empty: no Authorization header (e.g. kubectl proxy).
  std::string token_file;
  std::string namespace_name;  // from the service-account namespace file; may be empty
};

// In-cluster: KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT, TLS verified
// against <sa_dir>/ca.crt, token <sa_dir>/token, namespace <sa_dir>/namespace.
// sa_dir: the argument if not empty, else env RINGGATE_SA_DIR, else
// kDefaultServiceAccountDir. Checks that the env vars are set and the files readable.
Result<KubeApiConfig> in_cluster_config(std::string_view sa_dir = {});

// "http://host:port" (kubectl proxy) or "https://host:port" (then set ca_file).
// No path, query or userinfo; IPv6 hosts in brackets.
Result<KubeApiConfig> api_url_config(std::string_view url);

// "host:port" for the Host header (IPv6 in brackets).
std::string host_header(const KubeApiConfig& config);

}  // namespace ringgate::discovery
