#pragma once
// The models GET /v1/models lists: the union of what the endpoints serve (and the
// rewrite aliases), without duplicates, and its JSON body rendered once. Immutable:
// the control plane publishes a new one through CatalogPublisher when the list moves.
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "ringgate/util/snapshot_publisher.h"

namespace ringgate::proxy {

class ModelCatalog {
 public:
  ModelCatalog() : ModelCatalog(std::vector<std::string>{}) {}
  // Deduplicates (order of first appearance kept) in time linear in the list.
  // `known`: further names that may be metrics labels without being listed (models of
  // endpoints that are down right now): see labels().
  explicit ModelCatalog(std::vector<std::string> models, std::vector<std::string> known = {});
  ModelCatalog(const ModelCatalog&) = delete;
  ModelCatalog& operator=(const ModelCatalog&) = delete;

  const std::vector<std::string>& models() const { return models_; }
  bool serves(std::string_view model) const { return index_.count(model) > 0; }
  // Whether `model` may be a label value of the per-model statistics: listed or known.
  // Every other name a client sends is counted as "other" (metrics::kOtherModelLabel),
  // so clients cannot mint label sets or fill a worker's statistics table.
  bool labels(std::string_view model) const { return serves(model) || known_.count(model) > 0; }
  const std::vector<std::string>& known() const { return known_names_; }
  // The OpenAI list body: {"object":"list","data":[{"id":..,"object":"model","created":..,"owned_by":"ringgate"}...]}.
  const std::string& render_json() const { return json_; }
  // The same list of only the models `keep` accepts (an API key limited to some models).
  std::string render_json(const std::function<bool(std::string_view)>& keep) const;

 private:
  std::vector<std::string> models_;
  std::unordered_set<std::string_view> index_;  // views into models_
  std::vector<std::string> known_names_;
  std::unordered_set<std::string_view> known_;  // views into known_names_
  std::string json_;
};

using CatalogPublisher = util::SnapshotPublisher<ModelCatalog>;

}  // namespace ringgate::proxy
