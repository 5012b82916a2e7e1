#pragma once
// The EPP metric families of :9090/metrics under both names dashboards use: GAIE v1.5.0's
// inference_* and llm-d-router v0.10's llm_d_epp_* (with the llm_d_inference_scheduler_*
// twins v0.10 still emitted), rendered from the same per-worker statistics, so both sets
// say the same thing. tests/control/fixtures/epp_metric_families.json is the spec (types,
// labels, buckets, the upstream files and commits they come from).
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include <prometheus/metric_family.h>

#include "ringgate/metrics/gateway_stats.h"
#include "ringgate/sched/prefix_index.h"

namespace ringgate::control {

struct PoolView;
struct ControlCounters;
struct BuildInfo;

// Which EPP name sets to expose (--metrics-names, Gateway `metrics: {names: ...}`).
enum class MetricNames { Both, Gaie, LlmD };
std::optional<MetricNames> parse_metric_names(std::string_view text);  // "both" | "gaie" | "llm-d"

void append_epp_families(const PoolView& pool, std::span<const metrics::WorkerStats* const> workers,
                         const sched::PrefixIndexStats& index, const ControlCounters& control,
                         const BuildInfo& build, MetricNames names,
                         std::vector<prometheus::MetricFamily>& out);

}  // namespace ringgate::control
