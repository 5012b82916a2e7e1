#pragma once
// Builders for snapshots in tests.
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/sched/scheduler.h"
#include "ringgate/sched/filter_registry.h"
#include "ringgate/sched/rng.h"
#include "ringgate/sched/scorer_registry.h"

namespace ringgate::sched::test {

// The slot of a registered scorer (a typo fails the test at once).
inline size_t slot_of(std::string_view name) {
  const auto slot = scorer_slot(name);
  if (!slot) throw std::invalid_argument("no scorer " + std::string(name));
  return *slot;
}

// c.scores of the scorer `name`.
inline double score_of(const EndpointSignals& c, std::string_view name) { return c.scores[slot_of(name)]; }

// Runs the scorer `name` on `candidates` as the scheduler does.
inline void run_scorer(std::string_view name, std::span<EndpointSignals> candidates, const SchedulerConfig& config = {},
                       uint32_t total_blocks = 0, const EndpointSnapshot* snapshot = nullptr,
                       const PickRequest& request = {}) {
  static const EndpointSnapshot kEmpty{{}};
  const ScoreContext context{snapshot ? *snapshot : kEmpty, request, config, total_blocks, slot_of(name)};
  kScorers[context.slot].score(candidates, context);
}

// Runs the filter `name` on `candidates` as the scheduler does; returns how many it kept
// (at the front).
inline size_t run_filter(std::string_view name, std::span<EndpointSignals> candidates, const SchedulerConfig& config,
                         uint32_t total_blocks, Rng& rng, const PickRequest& request = {}) {
  static const EndpointSnapshot kEmpty{{}};
  const auto slot = filter_slot(name);
  if (!slot) throw std::invalid_argument("no filter " + std::string(name));
  const FilterContext context{kEmpty, request, config, total_blocks, rng};
  return kFilters[*slot].filter(candidates, context);
}

inline EndpointState make_endpoint(EndpointId id, std::string model = "m", double waiting = 0, double kv_usage = 0,
                                   bool routable = true) {
  EndpointState e;
  e.id = id;
  e.address.host = "10.0.0." + std::to_string(id + 1);
  e.address.port = 8000;
  e.address_hash = address_hash(e.address.host, e.address.port);
  e.models.push_back(std::move(model));
  e.routable = routable;
  e.has_metrics = true;
  e.scraped_at = Clock::time_point{} + std::chrono::seconds(100);
  e.metrics.all.waiting = waiting;
  e.metrics.all.kv_cache_usage = kv_usage;
  e.metrics.all.has_waiting = true;
  e.metrics.all.has_kv_cache_usage = true;
  return e;
}

// "now" for which make_endpoint's metrics are fresh.
inline Clock::time_point fresh_now() {
  return Clock::time_point{} + std::chrono::seconds(100) + std::chrono::milliseconds(50);
}

inline std::vector<EndpointState> make_pool(size_t n, std::string model = "m") {
  std::vector<EndpointState> v;
  for (size_t i = 0; i < n; ++i) v.push_back(make_endpoint(EndpointId(i), model));
  return v;
}

}  // namespace ringgate::sched::test
