// Reads the Gateway API Inference Extension documents: InferenceModelRewrite,
// InferencePool (v1 and v1alpha2) and InferenceObjective, following the CRD schemas.

#include <algorithm>
#include <cctype>

#include "document_readers.h"

namespace ringgate::config::detail {

namespace {

bool is_dns_subdomain(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  if (!std::isalnum(static_cast<unsigned char>(name.front())) || !std::isalnum(static_cast<unsigned char>(name.back())))
    return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'; });
}

// A map of string → string (labels, annotations, selectors). Returns pairs in file order.
std::optional<std::vector<std::pair<std::string, std::string>>> read_string_map(YamlFieldReader& r,
                                                                                const YAML::Node& node,
                                                                                const std::string& path) {
  auto fields = r.read_open_map(node, path);
  if (!fields) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> out;
  bool ok = true;
  for (const MapEntry& entry : fields->entries()) {
    std::string p = join_path(path, entry.key);
    if (entry.key.empty()) {
      r.error(entry.key_node, path, "empty key");
      ok = false;
      continue;
    }
    auto value = r.read_string(entry.value, p, true);
    if (!value) {
      ok = false;
      continue;
    }
    out.emplace_back(entry.key, *value);
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<PoolRef> read_pool_ref(YamlFieldReader& r, const YAML::Node& node, const std::string& path) {
  auto fields = r.read_map(node, path, {"group", "kind", "name"});
  if (!fields) return std::nullopt;
  PoolRef out;
  out.position = position_of(node);
  size_t errors_before = r.error_count();
  if (const YAML::Node* v = fields->find("group")) {
    std::string p = join_path(path, "group");
    if (auto group = r.read_string(*v, p)) {
      if (*group != "inference.networking.k8s.io" && *group != "inference.networking.x-k8s.io")
        r.error(*v, p, "must be inference.networking.k8s.io or inference.networking.x-k8s.io, got \"" + *group + "\"");
      out.group = *group;
    }
  }
  if (const YAML::Node* v = fields->find("kind")) {
    std::string p = join_path(path, "kind");
    if (auto kind = r.read_string(*v, p)) {
      if (*kind != "InferencePool") r.error(*v, p, "must be InferencePool, got \"" + *kind + "\"");
      out.kind = *kind;
    }
  }
  if (const YAML::Node* v = fields->find("name")) {
    if (auto name = r.read_string(*v, join_path(path, "name"))) out.name = *name;
  } else {
    r.error(node, path, "missing required field 'name'");
  }
  if (r.error_count() != errors_before) return std::nullopt;
  return out;
}

// spec.rules[i].matches: fills `models`; an empty or absent list is the catch-all.
void read_matches(YamlFieldReader& r, const YAML::Node& node, const std::string& path,
                  std::vector<std::string>& models) {
  if (!r.expect_sequence(node, path)) return;
  for (size_t i = 0; i < node.size(); ++i) {
    YAML::Node match_node = node[i];
    std::string match_path = index_path(path, i);
    auto match = r.read_map(match_node, match_path, {"model"});
    if (!match) continue;
    const YAML::Node* model_node = match->find("model");
    if (!model_node) {
      r.error(match_node, match_path, "missing required field 'model'");
      continue;
    }
    std::string model_path = join_path(match_path, "model");
    auto model = r.read_map(*model_node, model_path, {"type", "value"});
    if (!model) continue;
    if (const YAML::Node* type = model->find("type")) {
      std::string type_path = join_path(model_path, "type");
      auto type_name = r.read_string(*type, type_path);
      if (type_name && *type_name != "Exact")
        r.error(*type, type_path, "unsupported match type \"" + *type_name + "\" (supported: Exact)");
    }
    const YAML::Node* value = model->find("value");
    if (!value) {
      r.error(*model_node, model_path, "missing required field 'value' (the model name to match)");
      continue;
    }
    std::string value_path = join_path(model_path, "value");
    auto name = r.read_string(*value, value_path);
    if (!name) continue;
    if (std::find(models.begin(), models.end(), *name) != models.end()) {
      r.error(*value, value_path, "model \"" + *name + "\" is matched twice in this rule");
      continue;
    }
    models.push_back(*name);
  }
}

void read_targets(YamlFieldReader& r, const YAML::Node& rule_node, const YAML::Node* node, const std::string& path,
                  std::vector<RewriteTarget>& targets) {
  if (!node) {
    r.error(rule_node, path, "missing required field 'targets' (at least one {modelRewrite: MODEL})");
    return;
  }
  if (!r.expect_sequence(*node, path)) return;
  if (node->size() == 0) {
    r.error(*node, path, "needs at least one target");
    return;
  }
  std::optional<size_t> first_weighted, first_unweighted;
  for (size_t i = 0; i < node->size(); ++i) {
    YAML::Node target_node = (*node)[i];
    std::string target_path = index_path(path, i);
    auto fields = r.read_map(target_node, target_path, {"modelRewrite", "weight"});
    if (!fields) continue;
    RewriteTarget target;
    bool ok = true;
    if (const YAML::Node* model = fields->find("modelRewrite")) {
      auto name = r.read_string(*model, join_path(target_path, "modelRewrite"));
      if (name && name->size() > 253) {
        r.error(*model, join_path(target_path, "modelRewrite"), "longer than 253 characters");
        ok = false;
      } else if (name) {
        target.model = *name;
      } else {
        ok = false;
      }
    } else {
      r.error(target_node, target_path, "missing required field 'modelRewrite' (the model to forward as)");
      ok = false;
    }
    if (const YAML::Node* weight = fields->find("weight")) {
      auto value = r.read_int(*weight, join_path(target_path, "weight"), 1, max_rewrite_weight);
      if (value)
        target.weight = uint32_t(*value);
      else
        ok = false;
      if (!first_weighted) first_weighted = i;
    } else if (!first_unweighted) {
      first_unweighted = i;
    }
    if (ok) targets.push_back(std::move(target));
  }
  if (first_weighted && first_unweighted) {
    r.error(*node, path,
            "weights must be set on every target or on none (targets[" + std::to_string(*first_weighted) +
                "] has a weight, targets[" + std::to_string(*first_unweighted) + "] has none)");
  }
}

}  // namespace

ObjectMeta read_object_meta(YamlFieldReader& r, const MapFields& doc, bool name_required) {
  ObjectMeta out;
  const YAML::Node* node = doc.find("metadata");
  if (!node) {
    if (name_required) r.error(doc.node(), "metadata", "missing required field 'metadata.name'");
    return out;
  }
  auto fields = r.read_map(*node, "metadata",
                           {"name", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation",
                            "creationTimestamp", "generateName", "finalizers", "ownerReferences", "managedFields",
                            "deletionTimestamp", "deletionGracePeriodSeconds"});
  if (!fields) return out;
  if (const YAML::Node* name = fields->find("name")) {
    auto value = r.read_string(*name, "metadata.name");
    if (value && !is_dns_subdomain(*value))
      r.error(*name, "metadata.name", "\"" + *value + "\" is not a valid name (lowercase letters, digits, '-', '.')");
    else if (value)
      out.name = *value;
  } else if (name_required) {
    r.error(*node, "metadata", "missing required field 'name'");
  }
  if (const YAML::Node* ns = fields->find("namespace")) {
    if (auto value = r.read_string(*ns, "metadata.namespace")) out.namespace_name = *value;
  }
  for (std::string_view key : {"labels", "annotations"})
    if (const YAML::Node* map = fields->find(key)) read_string_map(r, *map, join_path("metadata", key));
  return out;
}

std::optional<ModelRewrite> read_model_rewrite(YamlFieldReader& r, const MapFields& doc) {
  ModelRewrite out;
  out.position = position_of(doc.node());
  out.metadata = read_object_meta(r, doc, false);
  const YAML::Node* spec_node = doc.find("spec");
  if (!spec_node) {
    r.error(doc.node(), "spec", "missing required field 'spec' (with 'rules')");
    return std::nullopt;
  }
  auto spec = r.read_map(*spec_node, "spec", {"poolRef", "rules"});
  if (!spec) return std::nullopt;
  if (const YAML::Node* ref = spec->find("poolRef")) out.pool = read_pool_ref(r, *ref, "spec.poolRef");
  const YAML::Node* rules = spec->find("rules");
  if (!rules) {
    r.error(*spec_node, "spec", "missing required field 'rules'");
    return std::nullopt;
  }
  if (!r.expect_sequence(*rules, "spec.rules")) return std::nullopt;
  if (rules->size() == 0) {
    r.error(*rules, "spec.rules", "needs at least one rule");
    return std::nullopt;
  }
  for (size_t i = 0; i < rules->size(); ++i) {
    YAML::Node rule_node = (*rules)[i];
    std::string rule_path = index_path("spec.rules", i);
    auto rule = r.read_map(rule_node, rule_path, {"matches", "targets"});
    if (!rule) continue;
    RewriteRule compiled;
    compiled.position = position_of(rule_node);
    if (const YAML::Node* matches = rule->find("matches"))
      read_matches(r, *matches, join_path(rule_path, "matches"), compiled.exact_models);
    read_targets(r, rule_node, rule->find("targets"), join_path(rule_path, "targets"), compiled.targets);
    out.rules.push_back(std::move(compiled));
  }
  // Returned even with errors in it, so the cross-document checks (duplicate models,
  // pool references) can report their problems too; the load fails either way.
  return out;
}

std::optional<InferencePool> read_inference_pool(YamlFieldReader& r, const MapFields& doc,
                                                 std::string_view api_version) {
  size_t errors_before = r.error_count();
  const bool v1 = api_version == inference_v1_api_version;
  InferencePool out;
  out.api_version = std::string(api_version);
  out.position = position_of(doc.node());
  out.metadata = read_object_meta(r, doc, true);
  const YAML::Node* spec_node = doc.find("spec");
  if (!spec_node) {
    r.error(doc.node(), "spec", "missing required field 'spec'");
    return std::nullopt;
  }
  const std::string_view picker_key = v1 ? "endpointPickerRef" : "extensionRef";
  const std::string_view port_key = v1 ? "targetPorts" : "targetPortNumber";
  auto spec = r.read_map(*spec_node, "spec", {"selector", port_key, picker_key});
  if (!spec) return std::nullopt;

  if (const YAML::Node* selector = spec->find("selector")) {
    const YAML::Node* labels = selector;
    std::string labels_path = "spec.selector";
    std::optional<MapFields> selector_fields;
    if (v1) {
      selector_fields = r.read_map(*selector, "spec.selector", {"matchLabels"});
      labels = selector_fields ? selector_fields->find("matchLabels") : nullptr;
      labels_path = "spec.selector.matchLabels";
      if (selector_fields && !labels) r.error(*selector, "spec.selector", "missing required field 'matchLabels'");
    }
    if (labels) {
      auto pairs = read_string_map(r, *labels, labels_path);
      if (pairs && pairs->empty()) r.error(*labels, labels_path, "needs at least one label");
      if (pairs) out.selector = std::move(*pairs);
    }
  } else {
    r.error(*spec_node, "spec", "missing required field 'selector'");
  }

  if (const YAML::Node* ports = spec->find(port_key)) {
    if (v1) {
      if (r.expect_sequence(*ports, "spec.targetPorts")) {
        // GAIE v1: 1..8 ports; several are one data-parallel rank each, in rank order.
        if (ports->size() == 0 || ports->size() > kMaxTargetPorts) {
          r.error(*ports, "spec.targetPorts",
                  "must list 1 to 8 ports (one per data-parallel rank), e.g. [{number: 8000}], not " +
                      std::to_string(ports->size()));
        } else {
          for (size_t i = 0; i < ports->size(); ++i) {
            YAML::Node port = (*ports)[i];
            const std::string path = "spec.targetPorts[" + std::to_string(i) + "]";
            auto fields = r.read_map(port, path, {"number"});
            if (!fields) continue;
            const YAML::Node* number = fields->find("number");
            if (!number) {
              r.error(port, path, "missing required field 'number'");
              continue;
            }
            auto value = r.read_int(*number, path + ".number", 1, 65535);
            if (!value) continue;
            auto same = std::find(out.target_ports.begin(), out.target_ports.end(), uint16_t(*value));
            if (same != out.target_ports.end()) {
              r.error(*number, path + ".number",
                      "duplicate port " + std::to_string(*value) + " (also spec.targetPorts[" +
                          std::to_string(same - out.target_ports.begin()) + "])");
              continue;
            }
            out.target_ports.push_back(uint16_t(*value));
          }
        }
      }
    } else {
      auto value = r.read_int(*ports, "spec.targetPortNumber", 1, 65535);
      if (value) out.target_ports = {uint16_t(*value)};
    }
  } else {
    r.error(*spec_node, "spec", "missing required field '" + std::string(port_key) + "'");
  }

  if (const YAML::Node* picker = spec->find(picker_key)) {
    std::string path = "spec." + std::string(picker_key);
    const std::string_view port_number_key = "portNumber";
    // v1: port: {number: 9002}; v1alpha2: portNumber: 9002.
    auto fields = r.read_map(*picker, path, {"group", "kind", "name", port_number_key, "port", "failureMode"});
    if (fields) {
      if (const YAML::Node* name = fields->find("name"))
        r.read_string(*name, join_path(path, "name"));
      else
        r.error(*picker, path, "missing required field 'name'");
      for (std::string_view key : {"group", "kind"})
        if (const YAML::Node* v = fields->find(key)) r.read_string(*v, join_path(path, key), true);
      if (const YAML::Node* v = fields->find(port_number_key))
        r.read_int(*v, join_path(path, port_number_key), 1, 65535);
      if (const YAML::Node* v = fields->find("port")) {
        const std::string port_path = join_path(path, "port");
        if (auto port = r.read_map(*v, port_path, {"number"})) {
          if (const YAML::Node* number = port->find("number")) r.read_int(*number, join_path(port_path, "number"), 1, 65535);
        }
      }
      if (const YAML::Node* v = fields->find("failureMode")) {
        auto mode = r.read_string(*v, join_path(path, "failureMode"));
        if (mode && *mode != "FailOpen" && *mode != "FailClose")
          r.error(*v, join_path(path, "failureMode"), "must be FailOpen or FailClose, got \"" + *mode + "\"");
      }
    }
  }
  if (r.error_count() != errors_before) return std::nullopt;
  return out;
}

std::optional<InferenceObjective> read_inference_objective(YamlFieldReader& r, const MapFields& doc) {
  InferenceObjective out;
  out.position = position_of(doc.node());
  out.metadata = read_object_meta(r, doc, true);
  if (const YAML::Node* spec_node = doc.find("spec")) {
    auto spec = r.read_map(*spec_node, "spec", {"priority", "poolRef"});
    if (spec) {
      if (const YAML::Node* priority = spec->find("priority")) {
        auto value = r.read_int(*priority, "spec.priority", INT32_MIN, INT32_MAX);
        if (value) out.priority = int32_t(*value);
      }
      if (const YAML::Node* ref = spec->find("poolRef")) out.pool = read_pool_ref(r, *ref, "spec.poolRef");
    }
  }
  return out;  // with errors too, for the cross-document checks
}

}  // namespace ringgate::config::detail
