#include <string>
#include <unordered_set>
#include <vector>

#include "ringgate/control/admin_pages.h"
#include "ringgate/control/kv_event_metrics.h"
#include "ringgate/control/response_table_metrics.h"

namespace ringgate::control {

AdminResponse metrics_page(const AdminSources& sources, std::string_view) {
  const ControlPlaneOptions& options = *sources.options;
  const ControlLoop& loop = *sources.loop;
  PoolView view;
  view.pool_name = options.pool_name;
  view.snapshot = loop.current();
  view.now = Clock::now();
  // Pool averages use their own 2 s window (PoolView's default, as the issue asks), not the
  // scheduler's: scoring may distrust a 500 ms old number that a dashboard still should show.
  view.endpoints_known = loop.pool().size();
  view.pod_name = [&loop](sched::EndpointId id) { return loop.pool().name(id); };
  view.scorer_weights = options.scheduler.weights;
  // Label values only for models the pool serves (any endpoint, routable or not, so a
  // restarting pod's model keeps its series) and the rewrite aliases: every other name
  // a client sent is counted as model_name="other".
  std::unordered_set<std::string> served;
  const std::vector<std::string> aliases = loop.catalog().aliases();
  served.insert(aliases.begin(), aliases.end());
  if (view.snapshot) {
    for (const sched::EndpointState& e : view.snapshot->endpoints()) {
      served.insert(e.models.begin(), e.models.end());
      served.insert(e.lora_adapters.begin(), e.lora_adapters.end());
    }
  }
  view.serves_model = [&served](std::string_view model) { return served.count(std::string(model)) > 0; };
  view.namespace_name = options.pool_namespace;
  std::vector<const metrics::WorkerStats*> workers;
  for (const metrics::WorkerStats* w : *sources.worker_stats)
    if (w) workers.push_back(w);
  std::vector<const proxy::WorkerCounters*> counters_of_workers;
  for (const proxy::WorkerCounters* w : *sources.worker_counters)
    if (w) counters_of_workers.push_back(w);
  const FlowView flow = flow_view(sources);
  ControlCounters counters;
  counters.snapshots_published = loop.snapshots_published();
  counters.scrapes_ok = loop.pool().scrapes_ok();
  counters.leaf_summaries_refused = loop.pool().summaries_refused();
  counters.scrapes_failed = loop.pool().scrapes_failed();
  counters.scrapes_unreadable = loop.pool().scrapes_unreadable();
  counters.ejections = loop.health().ejections_total();
  for (const metrics::WorkerStats* w : workers) counters.priority_overflows += w->priority_overflows.get();
  sources.status->fill(counters);
  if (options.access_log) {
    counters.access_log_enabled = true;
    counters.access_log_records = options.access_log->records_written();
    counters.access_log_write_errors = options.access_log->write_errors();
    for (const metrics::WorkerStats* w : *sources.worker_stats)
      if (w) counters.access_log_dropped += w->access_log.dropped();
  }
  if (const OtlpExporter* exporter = sources.exporter) {
    counters.tracing_enabled = true;
    counters.trace_spans_exported = exporter->exported();
    for (size_t i = 0; i < kSpanDropReasons.size(); ++i)
      counters.trace_spans_dropped[i] = exporter->dropped(i, *sources.worker_stats);
    for (size_t i = 0; i < kExportFailureReasons.size(); ++i) counters.trace_export_failures[i] = exporter->failures(i);
    counters.trace_spans_queued = exporter->queued();
  }
  std::string text = render_gateway_metrics(view, workers, counters_of_workers, loop.index().stats(), counters,
                                            options.build, options.metric_names, &flow);
  // Precise prefix mode: the exact index's size and bound, and the event streams' health.
  if (const KvEventSources* kv = loop.kv()) {
    append_kv_event_families(text, kv->index().stats(), kv->counters());
    if (const auto& tokenizer = options.prompt_tokenizer)
      append_prompt_tokenizer_families(text, tokenizer->counts(), tokenizer->has_chat_template(),
                                       tokenizer->cache_stats());
  }
  append_response_table_families(text, loop.responses());
  if (const SharedState* shared = loop.shared()) shared->append_metrics(text);
  if (sources.wake_hook) sources.wake_hook->append_metrics(text);
  loop.latency().append_metrics(text, view.snapshot);
  return {200, "text/plain; version=0.0.4; charset=utf-8", std::move(text)};
}

}  // namespace ringgate::control
