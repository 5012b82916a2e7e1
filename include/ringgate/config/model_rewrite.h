#pragma once
// `kind: InferenceModelRewrite` (apiVersion inference.networking.x-k8s.io/v1alpha2),
// the Gateway API Inference Extension shape:
//
//   spec:
//     poolRef: {group, kind, name}      # optional here (the CRD requires it): absent = the gateway's pool
//     rules:                            # ordered; the first rule that matches wins
//     - matches:                        # OR of matches; empty or absent = catch-all
//       - model: {type: Exact, value: my-chat}
//       targets:                        # at least one
//       - modelRewrite: facebook/opt-125m
//         weight: 90                    # 1..1,000,000; all targets weighted or none
//
// Precedence (GAIE): an exact match always beats a catch-all; among rules, file
// order (documents, then rules) stands in for the CRD's "oldest resource wins".
// The loader rejects what GAIE would resolve silently: a model matched by two rules,
// and a second catch-all rule for the same pool.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/config/config_error.h"
#include "ringgate/config/object_meta.h"

namespace ringgate::config {

inline constexpr std::string_view inference_x_api_version = "inference.networking.x-k8s.io/v1alpha2";
inline constexpr std::string_view model_rewrite_kind = "InferenceModelRewrite";
inline constexpr uint32_t max_rewrite_weight = 1'000'000;

struct RewriteTarget {
  std::string model;               // spec.rules[].targets[].modelRewrite
  std::optional<uint32_t> weight;  // absent on every target of the rule = equal split
};

struct RewriteRule {
  std::vector<std::string> exact_models;  // empty = catch-all
  std::vector<RewriteTarget> targets;     // never empty after a successful load
  SourcePosition position;
};

struct ModelRewrite {
  ObjectMeta metadata;
  std::optional<PoolRef> pool;  // spec.poolRef
  std::vector<RewriteRule> rules;
  SourcePosition position;
};

}  // namespace ringgate::config
