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

// metadata: {name, namespace, labels, annotations, ...}; name required if `name_required`.
ObjectMeta read_object_meta(YamlFieldReader& reader, const MapFields& doc, bool name_required);

}  // namespace ringgate::config::detail
