#pragma once
// The filter seam: a filter is a function that narrows the candidates before the scorers
// run (llm-d's Filter extension point). It moves the candidates it keeps to the front of
// the span, in their order, and returns how many it kept; keeping none is not allowed (a
// filter with nothing to prefer keeps them all, as llm-d's do). Every filter is listed
// once in filter_registry.h, which gives it its config key and its llm-d plugin type.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ringgate::sched {

struct EndpointSignals;
class EndpointSnapshot;
struct PickRequest;
struct SchedulerConfig;
class Rng;

// What a filter may read besides the candidates' signals. Valid for one call.
struct FilterContext {
  const EndpointSnapshot& snapshot;
  const PickRequest& request;
  const SchedulerConfig& config;
  uint32_t total_blocks = 0;  // prefix blocks of the request's prompt
  Rng& rng;                   // this worker's (exploration)
};

// Must not allocate, throw or block: it runs for every request on a worker.
using FilterFn = size_t (*)(std::span<EndpointSignals> candidates, const FilterContext& context);

struct Filter {
  std::string_view name;         // key under scheduler.filters ("prefix-cache-affinity")
  std::string_view plugin_type;  // llm-d's plugin type: EndpointPickerConfig type
  FilterFn filter = nullptr;
  bool default_on = false;  // runs unless scheduler.filters turns it off
  // What a server can serve, not a preference: runs right after the candidates are
  // gathered, before session affinity and prefix placement pick by a key.
  bool before_affinity = false;
};

}  // namespace ringgate::sched
