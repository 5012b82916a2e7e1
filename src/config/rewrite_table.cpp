#include "ringgate/config/rewrite_table.h"

#include <algorithm>

namespace ringgate::config {

RewriteTable RewriteTable::build(std::span<const ModelRewrite> rewrites) {
  RewriteTable table;
  for (const ModelRewrite& rewrite : rewrites) {
    for (const RewriteRule& rule : rewrite.rules) {
      CompiledRule compiled;
      compiled.rewrite_name = rewrite.metadata.name;
      uint64_t sum = 0;
      for (const RewriteTarget& target : rule.targets) {
        sum += (target.weight && *target.weight > 0) ? *target.weight : 1;
        compiled.targets.push_back(CompiledTarget{target.model, sum});
      }
      if (compiled.targets.empty()) continue;  // nothing to rewrite to
      const uint32_t index = uint32_t(table.rules_.size());
      bool used = false;
      if (rule.exact_models.empty()) {
        if (table.catch_all_ == no_rule) {
          table.catch_all_ = index;
          used = true;
        }
      }
      ModelAlias alias_targets;
      for (const RewriteTarget& target : rule.targets) alias_targets.targets.push_back(target.model);
      for (const std::string& model : rule.exact_models) {
        // GAIE: a model matched by several rules belongs to the first one.
        if (table.exact_.emplace(model, index).second) {
          used = true;
          alias_targets.alias = model;
          table.aliases_.push_back(alias_targets);
        }
      }
      if (used) table.rules_.push_back(std::move(compiled));
    }
  }
  return table;
}

RewriteDecision RewriteTable::choose(const CompiledRule& rule, uint64_t random, RewriteReason reason) const {
  const uint64_t total = rule.targets.back().cumulative_weight;
  // Scale the 64-bit random number to [0, total): uniform, no modulo bias worth naming.
  const uint64_t point = uint64_t((static_cast<unsigned __int128>(random) * total) >> 64);
  auto it = std::upper_bound(rule.targets.begin(), rule.targets.end(), point,
                             [](uint64_t p, const CompiledTarget& t) { return p < t.cumulative_weight; });
  if (it == rule.targets.end()) --it;  // unreachable: point < total
  return RewriteDecision{it->model, rule.rewrite_name, reason};
}

RewriteDecision RewriteTable::pick(std::string_view model, uint64_t random, std::string_view forced) const {
  if (!forced.empty()) return RewriteDecision{forced, {}, RewriteReason::Forced};
  if (auto it = exact_.find(model); it != exact_.end()) return choose(rules_[it->second], random, RewriteReason::Exact);
  if (catch_all_ != no_rule) return choose(rules_[catch_all_], random, RewriteReason::CatchAll);
  return RewriteDecision{model, {}, RewriteReason::None};
}

}  // namespace ringgate::config
