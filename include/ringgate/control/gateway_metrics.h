#pragma once
#include <array>
// Renders :9090/metrics: llm-d EPP metric names (inference_pool_*,
// inference_objective_*, inference_extension_*) plus ringgate_* gateway metrics.
// Per-worker statistics are summed here, at scrape time, on the control thread.
#include <chrono>
#include <functional>
#include <span>
#include <string>

#include "ringgate/control/epp_metrics.h"
#include "ringgate/metrics/gateway_stats.h"
#include "ringgate/proxy/worker_counters.h"
#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/sched/prefix_index.h"
#include "ringgate/sched/scorer_registry.h"

namespace ringgate::control {

struct BuildInfo {
  std::string commit;
  std::string build_ref;
};

struct PoolView {
  std::string pool_name;
  const sched::EndpointSnapshot* snapshot = nullptr;  // may be null before the first publish
  sched::Clock::time_point now{};
  sched::Clock::duration stale_after = std::chrono::seconds(2);
  size_t endpoints_known = 0;  // members of the pool, routable or not
  // inference_pool_per_pod_queue_size{model_server_pod}: the pod name (as llm-d's EPP
  // labels it) when discovery knows one; empty or unset = host:port.
  std::function<std::string_view(sched::EndpointId)> pod_name;
  // Whether a model name may be a label value: the models the pool serves (catalog)
  // and the rewrite rules' aliases and targets. Any other name a client sent is
  // counted under model_name="other" (kOtherModel), so clients cannot mint series.
  // Unset: every name is a label (tests).
  std::function<bool(std::string_view)> serves_model;
  // The pods' Kubernetes namespace (scheduler_attempts_total{namespace}); empty for static pools.
  std::string namespace_name;
  // The scheduler's weights: plugin_duration_seconds has a series for each scorer that runs
  // (weight not 0) and the picker, as an EPP has one for each plugin of its profile.
  sched::ScorerWeights scorer_weights = sched::default_scorer_weights();
};

// The one label value every model name outside PoolView::serves_model is folded into
// (the same word as the per-worker tables' overflow entry).
inline constexpr std::string_view kOtherModel = "other";

// The kinds read from the Kubernetes API (ringgate_kube_objects_rejected_total{kind}).
inline constexpr std::array<std::string_view, 4> kube_object_kinds = {"Pod", "InferencePool", "InferenceModelRewrite",
                                                                      "InferenceObjective"};

// The API listener's TLS, when on: how records are handled, the certificate served and
// its reloads.
struct TlsStatus {
  bool enabled = false;
  std::string mode, reason;  // net::tls_mode()
  std::string serial;        // of the certificate served now (hex)
  int64_t not_after = 0;     // its notAfter, Unix seconds
  uint64_t reloads_ok = 0, reloads_failed = 0;
};

// API keys (auth.apiKeysFile): the keys file loaded now and its reloads.
struct AuthStatus {
  bool enabled = false;
  size_t keys = 0;
  uint64_t reloads_ok = 0, reloads_failed = 0;
};

struct ControlCounters {
  uint64_t snapshots_published = 0;
  uint64_t scrapes_ok = 0, scrapes_failed = 0;
  uint64_t leaf_summaries_refused = 0;  // leaf gateways' load summaries refused (EndpointPool)
  uint64_t priority_overflows = 0;      // the workers' (metrics::WorkerStats::priority_overflows)
  uint64_t scrapes_unreadable = 0;  // answered, but no vLLM metrics could be read from the page
  uint64_t ejections = 0;
  uint64_t config_reloads_ok = 0, config_reloads_failed = 0;
  // Kubernetes objects rejected as malformed, by kind (kube_object_kinds order).
  std::array<uint64_t, 4> kube_objects_rejected{};
  uint64_t resolve_failures = 0;    // static entries' names that did not resolve (gateway::StaticResolver)
  bool access_log_enabled = false;  // the ringgate_access_log_* families appear only then
  uint64_t access_log_records = 0, access_log_dropped = 0, access_log_write_errors = 0;
  bool tracing_enabled = false;  // the ringgate_trace_* families appear only then
  uint64_t trace_spans_exported = 0, trace_spans_queued = 0;
  std::array<uint64_t, 3> trace_spans_dropped{};    // by kSpanDropReasons (control/otlp_exporter.h)
  std::array<uint64_t, 4> trace_export_failures{};  // by kExportFailureReasons
  TlsStatus tls;
  AuthStatus auth;
  uint64_t admin_auth_rejections = 0;  // admin.auth: requests refused on the admin port
};

std::string render_gateway_metrics(const PoolView& pool, std::span<const metrics::WorkerStats* const> workers,
                                   std::span<const proxy::WorkerCounters* const> counters,
                                   const sched::PrefixIndexStats& index, const ControlCounters& control,
                                   const BuildInfo& build, MetricNames names = MetricNames::Both,
                                   const struct FlowView* flow = nullptr);

}  // namespace ringgate::control
