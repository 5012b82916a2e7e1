#pragma once
// The per-request rules of one loaded config: model rewrites, objectives (which
// requests are sheddable) and the session header. Immutable once published; a
// reload publishes a new one (a request keeps the rules it started with).
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "ringgate/config/rewrite_table.h"
#include "ringgate/proxy/flow_queue.h"
#include "ringgate/proxy/rate_limiter.h"
#include "ringgate/sched/saturation_detector.h"
#include "ringgate/sched/session_keys.h"
#include "ringgate/util/snapshot_publisher.h"

namespace ringgate::proxy {

struct RequestRules {
  // Looks a header value up without building a std::string from it (no allocation per request).
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  config::RewriteTable rewrites;
  // Objective names (x-gateway-inference-objective values) whose priority is negative.
  std::unordered_set<std::string, NameHash, std::equal_to<>> sheddable_objectives;
  // Objective name -> spec.priority (the priority label of request_total); absent = 0.
  std::unordered_map<std::string, int32_t, NameHash, std::equal_to<>> objective_priorities;
  std::string session_header = "x-session-id";  // empty = none ("header" in session_keys pins nothing)
  // What pins a conversation, first found first (scheduler.sessionKeys; sched/session_keys.h).
  sched::SessionKeyOrder session_keys;

  // Flow control (Gateway flowControl / saturationDetector). The bounds are the whole
  // gateway's: each worker enforces its share (FlowLimits, divided by the workers).
  struct Flow {
    bool enabled = false;
    sched::SaturationConfig saturation;
    FlowLimits limits;
  };
  Flow flow;
  // Rate limits (Gateway rateLimits), per tenant named by tenant_header.
  RateLimitPolicy rate_limits;
  std::string tenant_header = "x-gateway-inference-fairness-id";

  int32_t priority(std::string_view objective) const {
    if (objective.empty()) return 0;
    auto it = objective_priorities.find(objective);
    return it == objective_priorities.end() ? 0 : it->second;
  }

  bool sheddable(std::string_view objective) const {
    return !objective.empty() && sheddable_objectives.find(objective) != sheddable_objectives.end();
  }
};

// A reload publishes a new RequestRules; each worker reads it through its own Reader
// slot (refresh() at the top of its loop: one acquire load when nothing changed), so a
// reload costs the request path nothing and drops nothing.
using RulesPublisher = util::SnapshotPublisher<RequestRules>;

}  // namespace ringgate::proxy
