#pragma once
// The models GET /v1/models lists: the union of what the endpoints serve, without
// duplicates. publish() is the one place that feeds it (today: the gateway's fetch of
// each endpoint's /v1/models or the --model flags; later: the control plane).
#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace ringgate::proxy {

class ModelCatalog {
 public:
  // Replaces the list (deduplicated, order of first appearance kept). Any thread.
  void publish(std::vector<std::string> models);
  std::shared_ptr<const std::vector<std::string>> snapshot() const { return models_.load(); }
  // The OpenAI list body: {"object":"list","data":[{"id":..,"object":"model","created":..,"owned_by":"ringgate"}...]}.
  std::string render_json() const;

 private:
  std::atomic<std::shared_ptr<const std::vector<std::string>>> models_{std::make_shared<const std::vector<std::string>>()};
};

}  // namespace ringgate::proxy
