#include "ringgate/gateway/api_keys_source.h"

#include <cstdio>

#include "ringgate/config/api_keys_file.h"

namespace ringgate::gateway {

ApiKeysSource::ApiKeysSource(std::string path, proxy::ApiKeysPublisher& publisher, control::ControlPlane& control)
    : path_(std::move(path)), publisher_(publisher), control_(control) {
  status_.enabled = true;
}

std::string ApiKeysSource::start() {
  if (std::string error = load(); !error.empty()) return "auth.apiKeysFile: " + error;
  files_.watch({path_}, "auth.apiKeysFile");
  return {};
}

void ApiKeysSource::check() {
  if (!files_.settled_change()) return;
  if (std::string error = load(); !error.empty()) {
    ++status_.reloads_failed;
    control_.set_auth_status(status_);
    std::fprintf(stderr, "ringgate: API keys: reload rejected, the %zu keys loaded before stay: %s\n", status_.keys,
                 error.c_str());
    return;
  }
  ++status_.reloads_ok;
  control_.set_auth_status(status_);
  std::fprintf(stderr, "ringgate: API keys: reloaded, %zu keys\n", status_.keys);
}

std::string ApiKeysSource::load() {
  config::ApiKeysResult loaded = config::load_api_keys_file(path_);
  if (!loaded.ok()) {
    std::string error = config::format_error(loaded.errors.front());
    if (loaded.errors.size() > 1) error += " (and " + std::to_string(loaded.errors.size() - 1) + " more)";
    return error;
  }
  status_.keys = loaded.keys.size();
  publisher_.publish(std::make_unique<proxy::ApiKeyTable>(loaded.keys));
  control_.set_auth_status(status_);
  return {};
}

}  // namespace ringgate::gateway
