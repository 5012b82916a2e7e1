// GAIE objects as the Kubernetes API serves them (JSON), read with the config file's
// document readers: the same schema, plus the API-side bounds.
#include <doctest/doctest.h>

#include <string>

#include "ringgate/config/gaie_object.h"

using namespace ringgate::config;

namespace {

constexpr std::string_view kX = "inference.networking.x-k8s.io/v1alpha2";
constexpr std::string_view kV1 = "inference.networking.k8s.io/v1";

std::string rewrite_json(const std::string& rules) {
  return R"({"apiVersion":"inference.networking.x-k8s.io/v1alpha2","kind":"InferenceModelRewrite",
    "metadata":{"name":"alias","namespace":"default","uid":"u","resourceVersion":"7","generation":2,
                "creationTimestamp":"2026-01-02T03:04:05Z","managedFields":[{"manager":"kubectl"}]},
    "spec":{"poolRef":{"group":"inference.networking.k8s.io","name":"vllm-pool"},"rules":)" + rules + R"(},
    "status":{"conditions":[]}})";
}

}  // namespace

TEST_CASE("an InferenceModelRewrite from the API reads like the file's document") {
  auto r = parse_gaie_object(rewrite_json(R"([{"matches":[{"model":{"type":"Exact","value":"chat"}}],
      "targets":[{"modelRewrite":"model-a","weight":90},{"modelRewrite":"model-b","weight":10}]}])"),
                             GaieKind::ModelRewrite, kX);
  REQUIRE(r.ok());
  REQUIRE(r.object.rewrite);
  CHECK(r.object.creation_timestamp == "2026-01-02T03:04:05Z");
  CHECK(r.object.rewrite->metadata.name == "alias");
  REQUIRE(r.object.rewrite->pool);
  CHECK(r.object.rewrite->pool->name == "vllm-pool");
  REQUIRE(r.object.rewrite->rules.size() == 1);
  CHECK(r.object.rewrite->rules[0].exact_models == std::vector<std::string>{"chat"});
  CHECK(r.object.rewrite->rules[0].targets.size() == 2);
}

TEST_CASE("a list item without kind/apiVersion is read as the kind asked for") {
  auto r = parse_gaie_object(R"({"metadata":{"name":"batch"},"spec":{"priority":-1,"poolRef":{"name":"vllm-pool"}}})",
                             GaieKind::InferenceObjective, kX);
  REQUIRE(r.ok());
  REQUIRE(r.object.objective);
  CHECK(r.object.objective->priority == -1);
  CHECK(r.object.objective->sheddable());
}

TEST_CASE("a v1 InferencePool as GAIE's chart writes it (endpointPickerRef.port.number)") {
  auto r = parse_gaie_object(R"({"apiVersion":"inference.networking.k8s.io/v1","kind":"InferencePool",
      "metadata":{"name":"vllm-pool","labels":{"app.kubernetes.io/name":"vllm-pool-epp"}},
      "spec":{"targetPorts":[{"number":8000}],"selector":{"matchLabels":{"app":"vllm-sim"}},
              "endpointPickerRef":{"name":"vllm-pool-epp","port":{"number":9002},"failureMode":"FailClose"}},
      "status":{"parents":[]}})",
                             GaieKind::InferencePool, kV1);
  REQUIRE(r.ok());
  REQUIRE(r.object.pool);
  CHECK(r.object.pool->target_ports == std::vector<uint16_t>{8000});
  CHECK(r.object.pool->selector == std::vector<std::pair<std::string, std::string>>{{"app", "vllm-sim"}});
}

TEST_CASE("malformed objects are rejected with every problem named") {
  // Weights on one target only, and an unsupported match type.
  auto mixed = parse_gaie_object(rewrite_json(R"([{"matches":[{"model":{"type":"RegularExpression","value":"c.*"}}],
      "targets":[{"modelRewrite":"a","weight":5},{"modelRewrite":"b"}]}])"),
                                 GaieKind::ModelRewrite, kX);
  CHECK_FALSE(mixed.ok());
  CHECK(mixed.errors.size() >= 2);
  CHECK_FALSE(parse_gaie_object(rewrite_json("[]"), GaieKind::ModelRewrite, kX).ok());
  CHECK_FALSE(parse_gaie_object(rewrite_json(R"([{"targets":[{"modelRewrite":"a","weight":0}]}])"), GaieKind::ModelRewrite, kX).ok());
  CHECK_FALSE(parse_gaie_object(R"({"metadata":{"name":"x"},"spec":{"priority":"high"}})", GaieKind::InferenceObjective, kX).ok());
  // The kind in the object must be the kind watched.
  CHECK_FALSE(parse_gaie_object(R"({"kind":"InferencePool","metadata":{"name":"x"},"spec":{}})", GaieKind::InferenceObjective, kX).ok());
  CHECK_FALSE(parse_gaie_object("[]", GaieKind::ModelRewrite, kX).ok());
  CHECK_FALSE(parse_gaie_object("{\"metadata\": ", GaieKind::ModelRewrite, kX).ok());
  CHECK_FALSE(parse_gaie_object(R"({"metadata":{"name":"p"},"spec":{"targetPorts":[{"number":70000}],"selector":{"matchLabels":{"a":"b"}}}})",
                                GaieKind::InferencePool, kV1).ok());
}

TEST_CASE("API-side bounds: rules, targets, size") {
  std::string rules = "[";
  for (size_t i = 0; i <= max_api_rewrite_rules; ++i)
    rules += std::string(i ? "," : "") + R"({"matches":[{"model":{"value":"m)" + std::to_string(i) + R"("}}],"targets":[{"modelRewrite":"t"}]})";
  rules += "]";
  CHECK_FALSE(parse_gaie_object(rewrite_json(rules), GaieKind::ModelRewrite, kX).ok());
  std::string targets = "[";
  for (size_t i = 0; i <= max_api_rule_targets; ++i) targets += std::string(i ? "," : "") + R"({"modelRewrite":"t"})";
  targets += "]";
  CHECK_FALSE(parse_gaie_object(rewrite_json(R"([{"targets":)" + targets + "}]"), GaieKind::ModelRewrite, kX).ok());
  CHECK_FALSE(parse_gaie_object(std::string(max_api_object_bytes + 1, ' '), GaieKind::ModelRewrite, kX).ok());
}
