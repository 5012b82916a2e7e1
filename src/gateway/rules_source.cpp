#include "ringgate/gateway/rules_source.h"

#include "ringgate/gateway/settings.h"

namespace ringgate::gateway {

void RulesSource::set_file(const config::ConfigSet* file) {
  std::lock_guard lock(mutex_);
  if (file) file_ = *file;
  else file_.reset();
  publish_locked();
}

void RulesSource::set_api_rewrites(std::vector<config::ModelRewrite> rewrites) {
  std::lock_guard lock(mutex_);
  api_rewrites_ = std::move(rewrites);
  publish_locked();
}

void RulesSource::set_api_objectives(std::vector<config::InferenceObjective> objectives) {
  std::lock_guard lock(mutex_);
  api_objectives_ = std::move(objectives);
  publish_locked();
}

void RulesSource::publish_locked() {
  std::unique_ptr<proxy::RequestRules> next = rules_from(file_ ? &*file_ : nullptr);
  if (!api_rewrites_.empty()) {
    std::vector<config::ModelRewrite> all;
    if (file_) all = file_->rewrites;
    all.insert(all.end(), api_rewrites_.begin(), api_rewrites_.end());
    next->rewrites = config::RewriteTable::build(all);
  }
  // A name the file declares keeps the file's priority (emplace does not overwrite).
  for (const config::InferenceObjective& o : api_objectives_) {
    auto [it, inserted] = next->objective_priorities.emplace(o.metadata.name, o.priority);
    if (inserted && o.sheddable()) next->sheddable_objectives.insert(o.metadata.name);
  }
  control_.set_aliases(alias_names(*next));
  control_.set_saturation(next->flow.saturation);
  rules_.publish(std::move(next));
}

}  // namespace ringgate::gateway
