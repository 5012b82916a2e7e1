#pragma once
// Internal to the config layer: one reader per document kind. Each reports problems
// through the YamlFieldReader and fills what it could read.

#include <optional>

#include "ringgate/config/gateway_config.h"
#include "ringgate/config/inference_objective.h"
#include "ringgate/config/inference_pool.h"
#include "ringgate/config/model_rewrite.h"
#include "yaml_field_reader.h"

namespace ringgate::config::detail {

// `doc` is the whole document (apiVersion and kind already checked).
struct GatewayDocument {
  GatewayConfig config;
  bool has_pool = false;
};
GatewayDocument read_gateway_document(YamlFieldReader& reader, const MapFields& doc);

std::optional<ModelRewrite> read_model_rewrite(YamlFieldReader& reader, const MapFields& doc);
std::optional<InferencePool> read_inference_pool(YamlFieldReader& reader, const MapFields& doc,
                                                 std::string_view api_version);
std::optional<InferenceObjective> read_inference_objective(YamlFieldReader& reader, const MapFields& doc);

// The problem that would make yaml-cpp 0.7's LoadAll hang on `text`, if any (see
// config_loader.cpp). Call it before LoadAll on any text from outside; parser
// exceptions propagate.
std::optional<ConfigError> find_stuck_document(std::string_view text, const std::string& file);

// The text of a config file of at most max_bytes, or nothing with the error said.
std::optional<std::string> read_config_text(const std::string& path, size_t max_bytes,
                                            std::vector<ConfigError>& errors);

// The one YAML document of `text` (`kind` names it in messages: "EndpointPickerConfig"),
// or nothing with the error said: invalid YAML, no document, several.
std::optional<YAML::Node> load_one_document(std::string_view text, const std::string& file, std::string_view kind,
                                            std::vector<ConfigError>& errors);

// metadata: {name, namespace, labels, annotations, ...}; name required if `name_required`.
ObjectMeta read_object_meta(YamlFieldReader& reader, const MapFields& doc, bool name_required);

}  // namespace ringgate::config::detail
