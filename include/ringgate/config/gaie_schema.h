#pragma once
// The Gateway API Inference Extension (GAIE) documents ringgate reads, in the config file
// or from the Kubernetes API, and what it does with each field: data for the
// configuration reference (docs/reference/configuration.md, `ninja -C build
// reference-docs`). The readers are src/config/gaie_documents.cpp (InferencePool,
// InferenceModelRewrite, InferenceObjective) and src/config/endpoint_picker_config.cpp
// (EndpointPickerConfig, the Go EPP's --config-file). Fields of these kinds that are not
// listed here are refused (the rule documents) or warned about (EndpointPickerConfig).
// tests/docs/reference_docs_test.cpp holds this list to the keys the config loader's
// reader allows for InferencePool, InferenceModelRewrite and InferenceObjective (a map
// listed whole, such as spec.poolRef, covers its keys); EndpointPickerConfig's is by hand.
#include <span>
#include <string_view>

namespace ringgate::config::gaie_schema {

struct Field {
  std::string_view path;  // dotted, "[]" for the items of a list
  std::string_view type;
  std::string_view description;
};

struct Document {
  std::string_view kind;
  std::string_view api_versions;
  std::string_view where;  // how ringgate gets it
  std::span<const Field> fields;
};

// clang-format off
inline constexpr Field kInferencePoolFields[] = {
    {"metadata.name", "string", "What `pool.discovery.kubernetes.inferencePool` (or `--pool-name`) names."},
    {"spec.selector.matchLabels", "map", "The labels of the pool's pods (at least one); the pods' IPs are the endpoints."},
    {"spec.targetPorts[].number", "int", "v1: exactly one port, the model servers' (1..65535)."},
    {"spec.targetPortNumber", "int", "v1alpha2: the model servers' port."},
    {"spec.endpointPickerRef", "map", "v1: the EPP the Gateway calls (group, kind, name, port.number, failureMode FailOpen|FailClose); read and checked, not acted on."},
    {"spec.extensionRef", "map", "v1alpha2: the same (group, kind, name, portNumber, failureMode)."},
};
inline constexpr Field kModelRewriteFields[] = {
    {"metadata.name", "string", "The rule's name: the `model_rewrite_name` label of model_rewrite_decisions_total."},
    {"spec.poolRef", "map", "{group, kind, name}: optional in the file; when given it must name the gateway's pool."},
    {"spec.rules[].matches[].model.type", "string", "`Exact` (the only match type)."},
    {"spec.rules[].matches[].model.value", "string", "The model name a client asks for (an alias). A model may be matched by one rule only; an exact match beats a catch-all, otherwise the first matching rule wins (files first, then API objects oldest first)."},
    {"spec.rules[].targets[].modelRewrite", "string", "The model the request is forwarded as (at most 253 characters)."},
    {"spec.rules[].targets[].weight", "int", "Relative weight (1..1000000), on every target or on none (= equal split)."},
};
inline constexpr Field kObjectiveFields[] = {
    {"metadata.name", "string", "What a request names with the header `x-gateway-inference-objective: NAME`."},
    {"spec.priority", "int", "Higher is served first; negative = sheddable (429 when every endpoint is saturated); no header = 0. The `priority` label of request_total."},
    {"spec.poolRef", "map", "{group, kind, name}: must name the gateway's pool when given."},
};
inline constexpr Field kPickerConfigFields[] = {
    {"plugins[].name", "string", "The plugin's name, what profiles refer to."},
    {"plugins[].type", "string", "An llm-d plugin type: the scorers ringgate has (the scorer table) map to its scorer weights; the picker types are accepted; others are warned about."},
    {"plugins[].parameters", "map", "prefix-cache-scorer: `blockSize` (tokens; other keys warned about); latency-scorer: `headroomSelectionStrategy` (least|most); other plugins' parameters are ignored with a warning."},
    {"schedulingProfiles[].name", "string", "The profile ringgate runs: the only one, else `default`, else the first (others warned about)."},
    {"schedulingProfiles[].plugins[].pluginRef", "string", "A plugin of `plugins`."},
    {"schedulingProfiles[].plugins[].weight", "int", "Its weight (0..1000): the scorer's weight, as scheduler.scorers."},
    {"saturationDetector.queueDepthThreshold", "int", "As the Gateway document's saturationDetector.queueDepthThreshold."},
    {"saturationDetector.kvCacheUtilThreshold", "number", "As saturationDetector.kvCacheUtilThreshold (0..1)."},
    {"saturationDetector.metricsStalenessThreshold", "duration", "As saturationDetector.metricsStalenessThreshold."},
    {"featureGates", "list", "Read and warned about (flow control is the Gateway document's flowControl)."},
    {"data", "map", "Ignored with a warning: ringgate scrapes each endpoint's vLLM /metrics itself."},
};
inline constexpr Document kDocuments[] = {
    {"InferencePool", "inference.networking.k8s.io/v1, inference.networking.x-k8s.io/v1alpha2",
     "Watched from the Kubernetes API (`pool.discovery.kubernetes.inferencePool`, `--pool-name`), with its pods.",
     kInferencePoolFields},
    {"InferenceModelRewrite", "inference.networking.x-k8s.io/v1alpha2",
     "In the config file (reloads live), and watched from the API with `watchRules`.", kModelRewriteFields},
    {"InferenceObjective", "inference.networking.x-k8s.io/v1alpha2",
     "In the config file (reloads live), and watched from the API with `watchRules`.", kObjectiveFields},
    {"EndpointPickerConfig", "inference.networking.x-k8s.io/v1alpha1",
     "The Go EPP's `--config-file` / `--config-text` (the inferencepool chart's); put under the config file's settings.",
     kPickerConfigFields},
};
// clang-format on

}  // namespace ringgate::config::gaie_schema
