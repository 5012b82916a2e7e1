#include "ringgate/discovery/kube_api_config.h"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace ringgate::discovery {
namespace {

Result<std::uint16_t> parse_port(std::string_view text, std::string_view where) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < 1 || value > 65535)
    return Error{std::string(where) + ": invalid port \"" + std::string(text) + "\""};
  return static_cast<std::uint16_t>(value);
}

Result<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read " + path};
  std::ostringstream text;
  text << in.rdbuf();
  std::string content = text.str();
  while (!content.empty() && (content.back() == '\n' || content.back() == '\r' ||
                              content.back() == ' ' || content.back() == '\t'))
    content.pop_back();
  return content;
}

}  // namespace

Result<KubeApiConfig> in_cluster_config(std::string_view sa_dir) {
  std::string dir(sa_dir);
  if (dir.empty()) {
    const char* env = std::getenv("RINGGATE_SA_DIR");
    dir = env && *env ? env : std::string(kDefaultServiceAccountDir);
  }
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port)
    return Error{"not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set"};

  KubeApiConfig config;
  config.tls = true;
  config.host = host;
  if (config.host.size() > 2 && config.host.front() == '[' && config.host.back() == ']')
    config.host = config.host.substr(1, config.host.size() - 2);
  auto port_number = parse_port(port, "KUBERNETES_SERVICE_PORT");
  if (!port_number) return port_number.error();
  config.port = port_number.value();

  config.token_file = dir + "/token";
  config.ca_file = dir + "/ca.crt";
  auto token = read_small_file(config.token_file);
  if (!token) return Error{"service account token: " + token.error().message};
  if (token.value().empty()) return Error{"service account token " + config.token_file + " is empty"};
  auto ca = read_small_file(config.ca_file);
  if (!ca) return Error{"service account CA: " + ca.error().message};
  if (auto ns = read_small_file(dir + "/namespace")) config.namespace_name = ns.value();
  return config;
}

Result<KubeApiConfig> api_url_config(std::string_view url) {
  KubeApiConfig config;
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
    config.tls = true;
  } else {
    return Error{"API URL \"" + std::string(url) + "\" must start with http:// or https://"};
  }
  if (rest.ends_with("/")) rest.remove_suffix(1);
  if (rest.find_first_of("/?#@") != std::string_view::npos)
    return Error{"API URL \"" + std::string(url) + "\" must be scheme://host[:port] with no path, query or user"};
  std::string_view port_text;
  if (rest.starts_with("[")) {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return Error{"API URL \"" + std::string(url) + "\": unclosed '['"};
    config.host = std::string(rest.substr(1, close - 1));
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Error{"API URL \"" + std::string(url) + "\": junk after ']'"};
      port_text = after.substr(1);
    }
  } else {
    auto colon = rest.rfind(':');
    if (colon != std::string_view::npos) {
      config.host = std::string(rest.substr(0, colon));
      port_text = rest.substr(colon + 1);
    } else {
      config.host = std::string(rest);
    }
  }
  if (config.host.empty()) return Error{"API URL \"" + std::string(url) + "\" has no host"};
  if (port_text.empty()) {
    config.port = config.tls ? 443 : 80;
  } else {
    auto port = parse_port(port_text, "API URL");
    if (!port) return port.error();
    config.port = port.value();
  }
  return config;
}

std::string host_header(const KubeApiConfig& config) {
  bool ipv6 = config.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + config.host + "]" : config.host) + ":" + std::to_string(config.port);
}

}  // namespace ringgate::discovery
