#include "ringgate/epp/epp_hold.h"

#include <algorithm>

#include "ringgate/epp/ext_proc_stream.h"

namespace ringgate::epp {

EppHold::EppHold(size_t workers, metrics::HeldModels& published) : workers_(std::max<size_t>(1, workers)) {
  hold_.publish_to(&published);
}

void EppHold::attach(proxy::ExchangeEnv& env, const proxy::RequestRules& rules) {
  adopt(rules);
  env.flow_limits = &flow_limits_;
  env.hold = &hold_;
}

void EppHold::adopt(const proxy::RequestRules& rules) {
  if (&rules == adopted_rules_) return;
  adopted_rules_ = &rules;
  proxy::assign_worker_share(flow_limits_, rules.flow.limits, workers_);
}

bool EppHold::snapshot_changed(const sched::EndpointSnapshot* snapshot) {
  const bool changed = snapshot != held_on_;
  held_on_ = snapshot;
  if (hold_.models() == 0) return false;
  const bool ran = changed && !hold_.empty();
  if (ran) hold_.dispatch();
  hold_.publish();  // a stream gone while held leaves its queue without ModelHold
  return ran;
}

bool EppHold::expire(uint64_t now_ms) {
  if (hold_.empty()) return false;
  hold_.expire(now_ms, flow_limits_.no_endpoint_ttl_ms);  // evicts, then routes again
  return true;
}

void EppHold::resumed(ExtProcStream* stream) {
  if (std::find(resumed_.begin(), resumed_.end(), stream) == resumed_.end()) resumed_.push_back(stream);
}

void EppHold::settle() {
  // By index: answering one stream cannot resume another, but stays safe if it did.
  for (size_t i = 0; i < resumed_.size(); ++i) resumed_[i]->settle_held();
  resumed_.clear();
}

void EppHold::forget(ExtProcStream* stream) { std::erase(resumed_, stream); }

}  // namespace ringgate::epp
