#include "ringgate/config/rewrite_table.h"

#include <algorithm>

namespace ringgate::config {

rewrite_table rewrite_table::build(std::span<const model_rewrite> rewrites) {
    rewrite_table table;
    for (const model_rewrite& rewrite : rewrites) {
        for (const rewrite_rule& rule : rewrite.rules) {
            compiled_rule compiled;
            compiled.rewrite_name = rewrite.metadata.name;
            uint64_t sum = 0;
            for (const rewrite_target& target : rule.targets) {
                sum += (target.weight && *target.weight > 0) ? *target.weight : 1;
                compiled.targets.push_back(compiled_target{target.model, sum});
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
            model_alias alias_targets;
            for (const rewrite_target& target : rule.targets) alias_targets.targets.push_back(target.model);
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

rewrite_decision rewrite_table::choose(const compiled_rule& rule, uint64_t random, rewrite_reason reason) const {
    const uint64_t total = rule.targets.back().cumulative_weight;
    // Scale the 64-bit random number to [0, total): uniform, no modulo bias worth naming.
    const uint64_t point = uint64_t((static_cast<unsigned __int128>(random) * total) >> 64);
    auto it = std::upper_bound(rule.targets.begin(), rule.targets.end(), point,
                               [](uint64_t p, const compiled_target& t) { return p < t.cumulative_weight; });
    if (it == rule.targets.end()) --it;  // unreachable: point < total
    return rewrite_decision{it->model, rule.rewrite_name, reason};
}

rewrite_decision rewrite_table::pick(std::string_view model, uint64_t random, std::string_view forced) const {
    if (!forced.empty()) return rewrite_decision{forced, {}, rewrite_reason::forced};
    if (auto it = exact_.find(model); it != exact_.end()) return choose(rules_[it->second], random, rewrite_reason::exact);
    if (catch_all_ != no_rule) return choose(rules_[catch_all_], random, rewrite_reason::catch_all);
    return rewrite_decision{model, {}, rewrite_reason::none};
}

}  // namespace ringgate::config
