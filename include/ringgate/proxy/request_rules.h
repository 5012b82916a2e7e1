#pragma once
// The per-request rules of one loaded config: model rewrites, objectives (which
// requests are sheddable) and the session header. Immutable once published; a
// reload publishes a new one. Workers check the version (one relaxed load) at the
// top of their loop and take the new rules only when it moved, so a reload costs
// the request path nothing and drops nothing: a request keeps the rules it started with.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "ringgate/config/rewrite_table.h"

namespace ringgate::proxy {

struct RequestRules {
  // Looks a header value up without building a std::string from it (no allocation per request).
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  config::rewrite_table rewrites;
  // Objective names (x-gateway-inference-objective values) whose priority is negative.
  std::unordered_set<std::string, NameHash, std::equal_to<>> sheddable_objectives;
  // Objective name -> spec.priority (the priority label of request_total); absent = 0.
  std::unordered_map<std::string, int32_t, NameHash, std::equal_to<>> objective_priorities;
  std::string session_header = "x-session-id";  // empty = no session affinity

  int32_t priority(std::string_view objective) const {
    if (objective.empty()) return 0;
    auto it = objective_priorities.find(objective);
    return it == objective_priorities.end() ? 0 : it->second;
  }

  bool sheddable(std::string_view objective) const {
    return !objective.empty() && sheddable_objectives.find(objective) != sheddable_objectives.end();
  }
};

class RulesPublisher {
 public:
  RulesPublisher() : rules_(std::make_shared<const RequestRules>()) {}

  // Any thread (the control/reload path).
  void publish(std::shared_ptr<const RequestRules> rules) {
    {
      std::lock_guard lock(mutex_);
      rules_ = std::move(rules);
    }
    version_.fetch_add(1, std::memory_order_release);
  }
  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  // Takes the lock: call only when version() moved.
  std::shared_ptr<const RequestRules> current() const {
    std::lock_guard lock(mutex_);
    return rules_;
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const RequestRules> rules_;
  std::atomic<uint64_t> version_{1};
};

}  // namespace ringgate::proxy
