#pragma once
// Every filter ringgate has, one line each. The position in kFilters is the filter's slot:
// FilterSwitches[slot]. Filters run in slot order, after the candidates are gathered
// (model, role, health, saturation) and before the scorers.
//
// Adding a filter: write src/sched/<name>_filter.cpp with its FilterFn, declare it in
// filter_plugins.h, add its line here. Its name is then a key of scheduler.filters, its
// plugin type a plugin of an EndpointPickerConfig.

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

#include "ringgate/sched/filter.h"
#include "ringgate/sched/filter_plugins.h"

namespace ringgate::sched {

inline constexpr Filter kFilters[] = {
    // name                     llm-d plugin type               default: on (why: perf/routing/README.md,
    //                                                          "llm-d's optimized baseline")
    {"prefix-cache-affinity", "prefix-cache-affinity-filter", &filter_prefix_cache_affinity, true},
    // llm-d's context-length-aware with enableFiltering (its scorer is scheduler.scorers.context-length)
    {"context-length", "context-length-aware", &filter_context_length, false, true},
};
inline constexpr size_t kFilterCount = std::size(kFilters);

// Which filters run, by slot.
using FilterSwitches = std::array<bool, kFilterCount>;
constexpr FilterSwitches default_filter_switches() {
  FilterSwitches on{};
  for (size_t i = 0; i < kFilterCount; ++i) on[i] = kFilters[i].default_on;
  return on;
}

constexpr std::optional<size_t> filter_slot(std::string_view name) {
  for (size_t i = 0; i < kFilterCount; ++i)
    if (kFilters[i].name == name) return i;
  return std::nullopt;
}
constexpr std::optional<size_t> filter_slot_by_plugin_type(std::string_view type) {
  for (size_t i = 0; i < kFilterCount; ++i)
    if (kFilters[i].plugin_type == type) return i;
  return std::nullopt;
}
inline constexpr size_t kPrefixAffinityFilterSlot = *filter_slot("prefix-cache-affinity");
inline constexpr size_t kContextLengthFilterSlot = *filter_slot("context-length");

// The config keys, in slot order (the schema of scheduler.filters).
constexpr std::array<std::string_view, kFilterCount> filter_names() {
  std::array<std::string_view, kFilterCount> names{};
  for (size_t i = 0; i < kFilterCount; ++i) names[i] = kFilters[i].name;
  return names;
}

}  // namespace ringgate::sched
