// GAIE objects from the Kubernetes API: JSON is YAML (flow style), so yaml-cpp reads it
// and the config file's document readers check it; the API-only bounds come on top.

#include "ringgate/config/gaie_object.h"

#include <yaml-cpp/yaml.h>

#include "document_readers.h"

namespace ringgate::config {

std::string_view gaie_kind_name(GaieKind kind) {
  switch (kind) {
    case GaieKind::InferencePool: return inference_pool_kind;
    case GaieKind::ModelRewrite: return model_rewrite_kind;
    case GaieKind::InferenceObjective: return inference_objective_kind;
  }
  return {};
}

namespace {

void check_bounds(detail::YamlFieldReader& r, const GaieObject& o) {
  const SourcePosition at{1, 1};
  if (o.rewrite) {
    if (o.rewrite->rules.size() > max_api_rewrite_rules)
      r.error_at(at, "spec.rules", "more than " + std::to_string(max_api_rewrite_rules) + " rules");
    for (const RewriteRule& rule : o.rewrite->rules) {
      if (rule.exact_models.size() > max_api_rule_matches)
        r.error_at(at, "spec.rules", "a rule with more than " + std::to_string(max_api_rule_matches) + " matches");
      if (rule.targets.size() > max_api_rule_targets)
        r.error_at(at, "spec.rules", "a rule with more than " + std::to_string(max_api_rule_targets) + " targets");
      for (const std::string& model : rule.exact_models)
        if (model.size() > 253) r.error_at(at, "spec.rules", "a matched model name longer than 253 characters");
    }
  }
  if (o.pool && o.pool->selector.size() > max_api_selector_labels)
    r.error_at(at, "spec.selector", "more than " + std::to_string(max_api_selector_labels) + " labels");
}

}  // namespace

GaieObjectResult parse_gaie_object(std::string_view json, GaieKind kind, std::string_view api_version) {
  GaieObjectResult result;
  result.object.kind = kind;
  const std::string file = "kubernetes";
  if (json.size() > max_api_object_bytes) {
    result.errors.push_back(ConfigError{file, {}, "object larger than " + std::to_string(max_api_object_bytes) + " bytes"});
    return result;
  }
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(json));
  } catch (const std::exception& e) {
    result.errors.push_back(ConfigError{file, {}, std::string("not a JSON object: ") + e.what()});
    return result;
  }
  detail::YamlFieldReader reader(file, result.errors);
  try {
    if (!doc.IsMap()) {
      reader.error(doc, "", "expected an object");
      return result;
    }
    std::string context(gaie_kind_name(kind));
    const YAML::Node meta = doc["metadata"];
    if (meta.IsDefined() && meta.IsMap()) {
      const YAML::Node name = meta["name"];
      if (name.IsDefined() && name.IsScalar()) context += " " + name.Scalar();
      const YAML::Node created = meta["creationTimestamp"];
      if (created.IsDefined() && created.IsScalar()) result.object.creation_timestamp = created.Scalar();
    }
    reader.set_context(context + ": ");
    // List items omit kind/apiVersion; a watch event's object has them: they must agree.
    const YAML::Node kind_node = doc["kind"];
    if (kind_node.IsDefined() && !kind_node.IsNull() && (!kind_node.IsScalar() || kind_node.Scalar() != gaie_kind_name(kind)))
      reader.error(kind_node, "kind", "expected " + std::string(gaie_kind_name(kind)));
    const YAML::Node version_node = doc["apiVersion"];
    if (version_node.IsDefined() && !version_node.IsNull() &&
        (!version_node.IsScalar() || version_node.Scalar() != api_version))
      reader.error(version_node, "apiVersion", "expected " + std::string(api_version));
    auto fields = reader.read_map(doc, "", {"apiVersion", "kind", "metadata", "spec", "status"});
    if (!fields) return result;
    switch (kind) {
      case GaieKind::InferencePool:
        result.object.pool = detail::read_inference_pool(reader, *fields, api_version);
        break;
      case GaieKind::ModelRewrite:
        result.object.rewrite = detail::read_model_rewrite(reader, *fields);
        break;
      case GaieKind::InferenceObjective:
        result.object.objective = detail::read_inference_objective(reader, *fields);
        break;
    }
    if (!result.object.pool && !result.object.rewrite && !result.object.objective && result.errors.empty())
      reader.error(doc, "", "unreadable object");
    check_bounds(reader, result.object);
  } catch (const std::exception& e) {
    result.errors.push_back(ConfigError{file, {}, std::string("internal error while reading the object: ") + e.what()});
  }
  return result;
}

}  // namespace ringgate::config
