#include "ringgate/proxy/model_catalog.h"

#include "ringgate/util/json_text.h"

#include <algorithm>

#include "ringgate/http/error_response.h"

namespace ringgate::proxy {

void ModelCatalog::publish(std::vector<std::string> models) {
  std::vector<std::string> unique;
  for (std::string& model : models) {
    if (std::find(unique.begin(), unique.end(), model) == unique.end()) unique.push_back(std::move(model));
  }
  models_.store(std::make_shared<const std::vector<std::string>>(std::move(unique)));
}

std::string ModelCatalog::render_json() const {
  const auto models = snapshot();
  std::string body = "{\"object\":\"list\",\"data\":[";
  bool first = true;
  for (const std::string& model : *models) {
    if (!first) body += ',';
    first = false;
    body += "{\"id\":\"";
    util::append_json_escaped(body, model);
    body += "\",\"object\":\"model\",\"created\":0,\"owned_by\":\"ringgate\"}";
  }
  body += "]}";
  return body;
}

}  // namespace ringgate::proxy
