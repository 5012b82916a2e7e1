#pragma once
// The compiled, immutable form of the InferenceModelRewrite documents: what model a
// request is forwarded as. Built once per config load, then shared read-only by every
// worker; lookups neither lock nor allocate.
//
// Lookup: exact model name (hash map, O(1)), else the catch-all rule, else no rewrite.
// Among the chosen rule's targets one is picked by cumulative weight with the caller's
// random number (so the caller owns the RNG and tests can seed it).
//
// Forced target: the request header `x-gateway-model-name-rewrite` (llm-d's newer
// spelling `x-llm-d-model-name-rewrite`), as in GAIE/llm-d's EPP: when present and
// non-empty its value is the model the request is forwarded as, verbatim; the rules are
// not consulted. The gateway should take the header from trusted callers only if it
// cares: a client can always name any served model directly in the body anyway.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ringgate/config/model_rewrite.h"

namespace ringgate::config {

inline constexpr std::string_view model_name_rewrite_header = "x-gateway-model-name-rewrite";
inline constexpr std::string_view model_name_rewrite_header_llmd = "x-llm-d-model-name-rewrite";

enum class RewriteReason : uint8_t {
  None,      // no rule matched: forward the model unchanged
  Exact,     // an exact-match rule chose the target
  CatchAll,  // the catch-all rule chose the target
  Forced,    // the model-name-rewrite header chose the target
};

struct RewriteDecision {
  std::string_view target;        // model to forward as (== the incoming model when reason is none)
  std::string_view rewrite_name;  // metadata.name of the InferenceModelRewrite, empty if none/forced
  RewriteReason reason = RewriteReason::None;

  // True when the forwarded model differs from the incoming one.
  bool changes(std::string_view incoming) const { return target != incoming; }
};

// One alias for /v1/models: a name clients may use, and what it may become.
struct ModelAlias {
  std::string alias;
  std::vector<std::string> targets;
};

class RewriteTable {
 public:
  RewriteTable() = default;  // empty: rewrites nothing

  // Compiles validated rewrites (as load_config_* returns them). If given unvalidated
  // input it still builds something sane, GAIE-style: the first rule for a model wins,
  // the first catch-all wins, zero/absent weights count as 1.
  static RewriteTable build(std::span<const ModelRewrite> rewrites);

  // `random` should be uniform over all 64 bits (e.g. one std::mt19937_64 draw).
  // `forced` is the model-name-rewrite header value, empty if absent.
  // The returned views point into this table, `model` or `forced`.
  RewriteDecision pick(std::string_view model, uint64_t random, std::string_view forced = {}) const;

  // Exact-match names, in rule order, with their targets.
  std::span<const ModelAlias> aliases() const { return aliases_; }

  bool has_catch_all() const { return catch_all_ != no_rule; }
  bool empty() const { return rules_.empty(); }

 private:
  struct CompiledTarget {
    std::string model;
    uint64_t cumulative_weight;  // sum of weights of this and earlier targets
  };
  struct CompiledRule {
    std::vector<CompiledTarget> targets;
    std::string rewrite_name;
  };
  struct TransparentHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  static constexpr uint32_t no_rule = UINT32_MAX;

  RewriteDecision choose(const CompiledRule& rule, uint64_t random, RewriteReason reason) const;

  std::vector<CompiledRule> rules_;
  std::unordered_map<std::string, uint32_t, TransparentHash, std::equal_to<>> exact_;
  uint32_t catch_all_ = no_rule;
  std::vector<ModelAlias> aliases_;
};

}  // namespace ringgate::config
