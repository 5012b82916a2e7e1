#pragma once
// Internal to the config layer: one reader per document kind. Each reports problems
// through the yaml_field_reader and fills what it could read.

#include <optional>

#include "ringgate/config/gateway_config.h"
#include "ringgate/config/inference_objective.h"
#include "ringgate/config/inference_pool.h"
#include "ringgate/config/model_rewrite.h"
#include "yaml_field_reader.h"

namespace ringgate::config::detail {

// `doc` is the whole document (apiVersion and kind already checked).
struct gateway_document {
    gateway_config config;
    bool has_pool = false;
};
gateway_document read_gateway_document(yaml_field_reader& reader, const map_fields& doc);

std::optional<model_rewrite> read_model_rewrite(yaml_field_reader& reader, const map_fields& doc);
std::optional<inference_pool> read_inference_pool(yaml_field_reader& reader, const map_fields& doc,
                                                  std::string_view api_version);
std::optional<inference_objective> read_inference_objective(yaml_field_reader& reader, const map_fields& doc);

// metadata: {name, namespace, labels, annotations, ...}; name required if `name_required`.
object_meta read_object_meta(yaml_field_reader& reader, const map_fields& doc, bool name_required);

}  // namespace ringgate::config::detail
