#pragma once
// The scorer seam: a scorer is a function that writes one score in [0,1] per candidate
// into EndpointSignals::scores[context.slot]; the scheduler sums weight x score over the
// scorers whose weight is not 0 (the others are not run). Every scorer is listed once
// in scorer_registry.h, which gives it its config key and its llm-d plugin type.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ringgate::sched {

struct EndpointSignals;
class EndpointSnapshot;
struct PickRequest;
struct SchedulerConfig;

// What a scorer may read besides the candidates' signals. Valid for one call.
struct ScoreContext {
  const EndpointSnapshot& snapshot;  // candidates' EndpointState: snapshot.at(c.index)
  const PickRequest& request;
  const SchedulerConfig& config;
  uint32_t total_blocks = 0;  // prefix blocks of the request's prompt
  size_t slot = 0;            // this scorer's position in kScorers: write scores[slot]
  bool prefix_stands_down = false;  // prefix_stand_down.h
};

// Must not allocate, throw or block: it runs for every request on a worker.
using ScoreFn = void (*)(std::span<EndpointSignals> candidates, const ScoreContext& context);

struct Scorer {
  std::string_view name;         // key under scheduler.scorers ("kv-cache")
  std::string_view plugin_type;  // llm-d's plugin type: metrics label, EndpointPickerConfig type
  double default_weight = 0;     // 0: runs only when the config gives it a weight
  ScoreFn score = nullptr;
};

}  // namespace ringgate::sched
