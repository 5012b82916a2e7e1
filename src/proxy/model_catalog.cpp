#include "ringgate/proxy/model_catalog.h"

#include "ringgate/util/json_text.h"

namespace ringgate::proxy {

ModelCatalog::ModelCatalog(std::vector<std::string> models, std::vector<std::string> known) {
  // Many endpoints serve the same model: keep each known name once.
  std::unordered_set<std::string_view> seen_known;  // views into `known`, which stays put
  for (const std::string& name : known)
    if (seen_known.insert(name).second) known_names_.push_back(name);
  known_.reserve(known_names_.size());
  for (const std::string& name : known_names_) known_.insert(name);
  models_.reserve(models.size());
  std::unordered_set<std::string_view> seen;  // views into `models`, which stays put
  for (const std::string& model : models)
    if (seen.insert(model).second) models_.push_back(model);
  index_.reserve(models_.size());
  for (const std::string& model : models_) index_.insert(model);
  json_ = render_json([](std::string_view) { return true; });
}

std::string ModelCatalog::render_json(const std::function<bool(std::string_view)>& keep) const {
  std::string json = "{\"object\":\"list\",\"data\":[";
  bool first = true;
  for (const std::string& model : models_) {
    if (!keep(model)) continue;
    if (!first) json += ',';
    first = false;
    json += "{\"id\":\"";
    util::append_json_escaped(json, model);
    json += "\",\"object\":\"model\",\"created\":0,\"owned_by\":\"ringgate\"}";
  }
  json += "]}";
  return json;
}

}  // namespace ringgate::proxy
