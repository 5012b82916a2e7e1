#include "ringgate/control/gateway_metrics.h"

#include "ringgate/control/flow_metrics.h"
#include "ringgate/control/otlp_exporter.h"

#include <prometheus/metric_family.h>

#include <algorithm>
#include <limits>
#include <span>

#include "ringgate/net/io_backend.h"

#include "metric_family_build.h"
#include "metrics_text.h"

namespace ringgate::control {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

using Labels = std::vector<ClientMetric::Label>;
using metric_build::family;

void add_gauge(MetricFamily& f, Labels labels, double v) {
  ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = v;
  f.metric.push_back(std::move(m));
}

void add_counter(MetricFamily& f, Labels labels, double v) {
  ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = v;
  f.metric.push_back(std::move(m));
}

void gateway_families(std::span<const proxy::WorkerCounters* const> workers, const sched::PrefixIndexStats& index,
                      const ControlCounters& control, std::vector<MetricFamily>& out) {
  using C = proxy::WorkerCounters;
  auto counter = [&](const char* name, const char* help, proxy::Counter C::*member) {
    uint64_t v = 0;
    for (const C* w : workers) v += (w->*member).get();
    auto f = family(name, help, MetricType::Counter);
    add_counter(f, {}, double(v));
    out.push_back(std::move(f));
  };
  // A counter array of the workers, one series per reason (names[i] labels member[i]).
  auto counter_by_label = [&](const char* name, const char* help, const char* label,
                              std::span<const char* const> names, auto member) {
    auto f = family(name, help, MetricType::Counter);
    for (size_t i = 0; i < names.size(); ++i) {
      uint64_t v = 0;
      for (const C* w : workers) v += (w->*member)[i].get();
      add_counter(f, {{label, names[i]}}, double(v));
    }
    out.push_back(std::move(f));
  };
  auto counter_by_reason = [&](const char* name, const char* help, std::span<const char* const> names, auto member) {
    counter_by_label(name, help, "reason", names, member);
  };
  counter("ringgate_connections_accepted_total", "Client connections accepted.", &C::connections_accepted);
  {
    int64_t open = 0;
    for (const C* w : workers) open += int64_t(w->connections_accepted.get()) - int64_t(w->connections_closed.get());
    auto f = family("ringgate_connections_open", "Client connections open now.", MetricType::Gauge);
    add_gauge(f, {}, double(open));
    out.push_back(std::move(f));
  }
  counter("ringgate_streams_broken_total", "Responses cut after bytes reached the client (ended with an error event).",
          &C::streams_broken);
  counter("ringgate_requests_total", "HTTP requests parsed on the API listener (any path).", &C::requests);
  {
    auto f = family("ringgate_responses_total", "Responses sent to clients, by status class (relayed and the gateway's own).",
                    MetricType::Counter);
    for (int cls = 1; cls <= 5; ++cls) {
      uint64_t v = 0;
      for (const C* w : workers) v += w->responses_by_class[cls].get();
      add_counter(f, {{"code_class", std::to_string(cls) + "xx"}}, double(v));
    }
    out.push_back(std::move(f));
  }
  counter("ringgate_gateway_errors_total", "Error responses the gateway wrote itself (status >= 400).", &C::gateway_errors);
  counter("ringgate_upstream_connects_total", "New connections opened to model servers.", &C::upstream_connects);
  counter("ringgate_upstream_reuses_total", "Requests sent on a kept-alive model server connection.", &C::upstream_reuses);
  counter("ringgate_retries_total", "Request attempts beyond the first (another endpoint or a fresh connection).",
          &C::upstream_retries);
  counter("ringgate_upstream_failures_total", "Connect, send or receive failures towards model servers.",
          &C::upstream_failures);
  counter("ringgate_client_disconnects_total", "Clients that went away while their request was being served.",
          &C::client_disconnects_mid_response);
  counter_by_label("ringgate_hedged_requests_total",
                   "Requests sent to a second server at once (hedging), by how the race to the first token ended: "
                   "primary or hedge streamed first (the other cancelled), failover (one failed first), abandoned "
                   "(the request ended before either streamed).",
                   "result", proxy::kHedgeResultNames, &C::hedged_requests);
  counter("ringgate_hedges_over_budget_total",
          "Requests hedging would have sent to a second server but its budget (hedging.maxExtraLoad) refused.",
          &C::hedges_over_budget);
  counter("ringgate_responses_learned_total",
          "Responses API response ids learned from model servers' answers (the server that holds each one).",
          &C::responses_learned);
  counter_by_label("ringgate_response_waits_total",
                   "Requests naming a Responses API response this replica did not know that waited for the other "
                   "replicas to tell it (sharedState), by outcome: found, or expired (then routed as unknown).",
                   "outcome", proxy::kResponseWaitOutcomes, &C::response_waits);
  counter("ringgate_http2_connections_total",
          "Client connections that spoke HTTP/2 (h2c by prior knowledge, h2 by ALPN).", &C::http2_connections);
  counter("ringgate_http2_streams_total", "HTTP/2 streams opened by clients (each one request).", &C::http2_streams);
  auto open_gauge = [&](const char* name, const char* help, proxy::Counter C::*opened, proxy::Counter C::*closed) {
    int64_t open = 0;
    for (const C* w : workers) open += int64_t((w->*opened).get()) - int64_t((w->*closed).get());
    auto f = family(name, help, MetricType::Gauge);
    add_gauge(f, {}, double(std::max<int64_t>(open, 0)));
    out.push_back(std::move(f));
  };
  open_gauge("ringgate_http2_connections_open", "HTTP/2 client connections open now.", &C::http2_connections,
             &C::http2_connections_closed);
  open_gauge("ringgate_http2_streams_open", "HTTP/2 streams open now.", &C::http2_streams, &C::http2_streams_closed);
  counter_by_label("ringgate_http2_resets_total",
                   "HTTP/2 streams reset (RST_STREAM), by side: client (a cancel: its upstream request is aborted), "
                   "gateway (a refused stream, a reply cut, a client that took nothing for timeouts.clientWrite).",
                   "side", proxy::kHttp2ResetSides, &C::http2_resets);
  counter_by_label("ringgate_http2_goaways_total",
                   "GOAWAY frames sent, by reason: drain, idle (no stream open for timeouts.clientIdle), "
                   "protocol_error (a connection error), enhance_your_calm (a bound of listen.http2 passed).",
                   "reason", http::kH2GoawayReasonNames, &C::http2_goaways);
  counter_by_label("ringgate_http2_bound_hits_total",
                   "HTTP/2 clients that met a bound, by bound: streams (maxConcurrentStreams: REFUSED_STREAM), "
                   "header_bytes (limits.maxHeaderBytes: 431), body_bytes (limits.maxBodyBytes: 413), continuations "
                   "(maxContinuationFrames), resets (maxResetsPerSecond), control_frames (maxControlFramesPerSecond): "
                   "the last three close the connection with GOAWAY ENHANCE_YOUR_CALM.",
                   "bound", http::kH2BoundNames, &C::http2_bounds);
  counter("ringgate_client_received_bytes_total", "Bytes received from clients.", &C::bytes_from_clients);
  counter("ringgate_client_sent_bytes_total", "Bytes sent to clients.", &C::bytes_to_clients);
  counter("ringgate_upstream_sent_bytes_total", "Bytes sent to model servers.", &C::bytes_to_upstreams);
  counter("ringgate_upstream_received_bytes_total", "Bytes received from model servers.", &C::bytes_from_upstreams);
  counter("ringgate_io_uring_cq_overflows_total", "io_uring completion queue overflows.", &C::cq_overflows);
  counter("ringgate_io_uring_enobufs_rearms_total", "Multishot receives re-armed after running out of buffers.",
          &C::enobufs_rearms);
  counter("ringgate_accept_errors_total", "Accepts that failed (EMFILE, ENFILE, ...); each backs off before accepting again.",
          &C::accept_errors);
  counter("ringgate_connections_rejected_total", "Connections answered 503 and closed: the worker was at --max-connections.",
          &C::connections_rejected);
  {
    const net::BackendChoice& io = net::chosen_backend();
    auto f = family("ringgate_io_backend_info",
                    "The event-loop backend the workers run on; reason is why auto fell back to epoll.", MetricType::Gauge);
    add_gauge(f, {{"backend", net::backend_kind_name(io.kind)}, {"reason", io.reason}}, 1);
    out.push_back(std::move(f));
  }
  counter("ringgate_io_uring_multishot_rearms_total", "Multishot operations re-armed after ending.",
          &C::multishot_rearms);
  counter("ringgate_client_body_direct_receives_total",
          "Receives of a large request body straight into its own buffer (no copy out of a receive buffer).",
          &C::direct_body_receives);
  auto plain = [&](const char* name, const char* help, MetricType type, double v) {
    auto f = family(name, help, type);
    if (type == MetricType::Counter) add_counter(f, {}, v);
    else add_gauge(f, {}, v);
    out.push_back(std::move(f));
  };
  if (control.tls.enabled) {
    {
      auto f = family("ringgate_tls_info", "TLS on the API listener: how records are handled, and why kernel TLS is not.",
                      MetricType::Gauge);
      add_gauge(f, {{"mode", control.tls.mode}, {"reason", control.tls.reason}}, 1);
      out.push_back(std::move(f));
    }
    counter("ringgate_tls_handshakes_total", "TLS handshakes completed on the API listener.", &C::tls_handshakes);
    counter_by_reason("ringgate_tls_handshake_failures_total",
                      "TLS handshakes that failed: protocol (not TLS, no shared version, cipher or ALPN, a refused "
                      "client certificate), too_large (more than 128 KiB before it ended), timeout.",
                      proxy::kTlsHandshakeFailureNames, &C::tls_handshake_failures);
    plain("ringgate_tls_certificate_reloads_total", "Certificate reloads applied (the files changed).",
          MetricType::Counter, double(control.tls.reloads_ok));
    plain("ringgate_tls_certificate_reload_failures_total",
          "Certificate reloads rejected (unreadable, or key and certificate disagree): the previous one stays.",
          MetricType::Counter, double(control.tls.reloads_failed));
    plain("ringgate_tls_certificate_expiry_timestamp_seconds", "notAfter of the certificate served now.",
          MetricType::Gauge, double(control.tls.not_after));
  }
  if (control.auth.enabled) {
    plain("ringgate_api_keys", "API keys loaded from auth.apiKeysFile.", MetricType::Gauge, double(control.auth.keys));
    plain("ringgate_api_keys_reloads_total", "Reloads of the API keys file applied (the file changed).",
          MetricType::Counter, double(control.auth.reloads_ok));
    plain("ringgate_api_keys_reload_failures_total",
          "Reloads of the API keys file rejected (unreadable or invalid): the keys loaded before stay.",
          MetricType::Counter, double(control.auth.reloads_failed));
    counter_by_reason("ringgate_auth_rejections_total",
                      "Requests refused by auth on the API listener: missing_key and invalid_key (401), "
                      "model_not_allowed (403).",
                      proxy::kAuthFailureNames, &C::auth_rejections);
    plain("ringgate_admin_auth_rejections_total", "Admin requests refused for want of an admin API key (admin.auth).",
          MetricType::Counter, double(control.admin_auth_rejections));
  }
  plain("ringgate_endpoint_ejections_total", "Endpoints taken out of rotation after consecutive failures.",
        MetricType::Counter, double(control.ejections));
  plain("ringgate_metrics_scrapes_total", "Successful scrapes of model server /metrics.", MetricType::Counter,
        double(control.scrapes_ok));
  plain("ringgate_metrics_scrape_failures_total", "Failed scrapes of model server /metrics.", MetricType::Counter,
        double(control.scrapes_failed));
  counter("ringgate_hub_loops_refused_total",
          "Requests answered 508: they arrived with more x-ringgate-hops than hub.maxHops (gateways in a loop).",
          &C::loops_refused);
  plain("ringgate_hub_priority_overflows_total",
        "Requests sent past the best priority level serving their model, every endpoint there being saturated "
        "(locality: pool.discovery.static[].priority).",
        MetricType::Counter, double(control.priority_overflows));
  plain("ringgate_hub_leaf_summaries_refused_total",
        "Load summaries of leaf gateways refused (malformed, oversized, past a bound, or stale): the leaf stays "
        "unscheduled until one is read.",
        MetricType::Counter, double(control.leaf_summaries_refused));
  plain("ringgate_snapshots_published_total", "Endpoint snapshots published to the workers.", MetricType::Counter,
        double(control.snapshots_published));
  plain("ringgate_config_reloads_total", "Configuration reloads applied.", MetricType::Counter,
        double(control.config_reloads_ok));
  plain("ringgate_config_reload_failures_total", "Configuration reloads rejected (old configuration kept).",
        MetricType::Counter, double(control.config_reloads_failed));
  plain("ringgate_discovery_resolve_failures_total",
        "Resolutions of a static entry's host name that failed (its last good addresses stay in the pool).",
        MetricType::Counter, double(control.resolve_failures));
  {
    auto f = family("ringgate_kube_objects_rejected_total",
                    "Kubernetes objects rejected as malformed (the last good version stays in use), by kind.",
                    MetricType::Counter);
    for (size_t i = 0; i < kube_object_kinds.size(); ++i)
      add_counter(f, {{"kind", std::string(kube_object_kinds[i])}}, double(control.kube_objects_rejected[i]));
    out.push_back(std::move(f));
  }
  plain("ringgate_prefix_index_memory_bytes", "Memory the prefix index allocated (at most its budget).",
        MetricType::Gauge, double(index.memory_bytes));
  plain("ringgate_prefix_index_budget_bytes", "Memory budget of the prefix index (scheduler.prefixIndexMemoryBytes).",
        MetricType::Gauge, double(index.budget_bytes));
  plain("ringgate_prefix_index_capacity_entries", "Prefix-index entries the budget holds, all endpoints together.",
        MetricType::Gauge, double(index.capacity_blocks));
  if (control.access_log_enabled) {
    plain("ringgate_access_log_records_total", "Access log lines written.", MetricType::Counter,
          double(control.access_log_records));
    plain("ringgate_access_log_dropped_total", "Access log records dropped because a worker's ring was full.",
          MetricType::Counter, double(control.access_log_dropped));
    plain("ringgate_access_log_write_errors_total", "Access log writes that failed (their lines are lost).",
          MetricType::Counter, double(control.access_log_write_errors));
  }
  if (control.tracing_enabled) {
    plain("ringgate_trace_spans_exported_total", "Spans the OTLP collector accepted.", MetricType::Counter,
          double(control.trace_spans_exported));
    plain("ringgate_trace_spans_queued", "Spans waiting to be exported (the batch being sent included).",
          MetricType::Gauge, double(control.trace_spans_queued));
    auto dropped = family("ringgate_trace_spans_dropped_total",
                          "Spans never exported, by reason: ring_full (a worker's span ring was full), queue_full "
                          "(the exporter's queue was full, e.g. while the collector was down), rejected (the "
                          "collector refused their batch, e.g. 400).",
                          MetricType::Counter);
    for (size_t i = 0; i < kSpanDropReasons.size(); ++i)
      add_counter(dropped, {{"reason", std::string(kSpanDropReasons[i])}}, double(control.trace_spans_dropped[i]));
    out.push_back(std::move(dropped));
    auto failures = family("ringgate_trace_export_failures_total",
                           "OTLP export POSTs that failed, by reason: retryable_status (429, 502, 503, 504: sent "
                           "again after a backoff), rejected (any other status: dropped), timeout, connection "
                           "(both sent again after a backoff).",
                           MetricType::Counter);
    for (size_t i = 0; i < kExportFailureReasons.size(); ++i)
      add_counter(failures, {{"reason", std::string(kExportFailureReasons[i])}},
                  double(control.trace_export_failures[i]));
    out.push_back(std::move(failures));
  }
}

// Streams whose server broke after bytes reached the client: continued elsewhere or not.
void migration_families(std::span<const metrics::WorkerStats* const> workers, std::vector<MetricFamily>& out) {
  using metrics::kMigrationOutcomes;
  using metrics::kMigrationPauseBuckets;
  using metrics::kMigrationReasons;
  auto count = family("ringgate_stream_migrations_total",
                      "Streams whose model server broke after bytes reached the client: resumed on another server "
                      "(reason: what broke, reset or stall) or gave_up with an error event (reason: why it was not "
                      "continued).",
                      MetricType::Counter);
  for (size_t o = 0; o < kMigrationOutcomes.size(); ++o) {
    for (size_t r = 0; r < kMigrationReasons.size(); ++r) {
      uint64_t n = 0;
      for (const metrics::WorkerStats* w : workers) n += w->migrations.count[o][r].get();
      // Every resumed reason, and the gave_up ones that happened: the label set stays small.
      if (n == 0 && (o != 0 || r > 1)) continue;
      add_counter(count, {{"outcome", std::string(kMigrationOutcomes[o])}, {"reason", std::string(kMigrationReasons[r])}},
                  double(n));
    }
  }
  out.push_back(std::move(count));
  auto pause = family("ringgate_stream_migration_pause_seconds",
                      "The pause a client saw when its stream moved to another server: from the last bytes before the "
                      "break to the first of the continuation.",
                      MetricType::Histogram);
  ClientMetric m;
  uint64_t cumulative = 0;
  double sum = 0;
  for (const metrics::WorkerStats* w : workers) sum += w->migrations.pause.sum();
  for (size_t i = 0; i <= kMigrationPauseBuckets.size(); ++i) {
    for (const metrics::WorkerStats* w : workers) cumulative += w->migrations.pause.bucket(i);
    m.histogram.bucket.push_back(
        {cumulative, i < kMigrationPauseBuckets.size() ? kMigrationPauseBuckets[i] : std::numeric_limits<double>::infinity()});
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = sum;
  pause.metric.push_back(std::move(m));
  out.push_back(std::move(pause));
}

// Label values a client or a model server chose, counted as "other" (metrics::LabelBounds).
void label_overflow_family(std::span<const metrics::WorkerStats* const> workers, std::vector<MetricFamily>& out) {
  auto f = family("ringgate_metric_label_overflow_total",
                  "Label values counted as \"other\" because their family already has metrics.maxLabelValues values "
                  "(for the whole process), or because the request that named one was not admitted (an unknown model: "
                  "404). family: fairness_id, tenant or model_name (target_model_name and LoRA adapters too).",
                  MetricType::Counter);
  for (size_t i = 0; i < metrics::kLabelFamilyCount; ++i) {
    uint64_t n = 0;
    for (const metrics::WorkerStats* w : workers) n += w->label_overflow[i].get();
    add_counter(f, {{"family", std::string(metrics::kLabelFamilyNames[i])}}, double(n));
  }
  out.push_back(std::move(f));
}

}  // namespace

std::string render_gateway_metrics(const PoolView& pool, std::span<const metrics::WorkerStats* const> workers,
                                   std::span<const proxy::WorkerCounters* const> counters,
                                   const sched::PrefixIndexStats& index, const ControlCounters& control,
                                   const BuildInfo& build, MetricNames names, const FlowView* flow) {
  std::vector<MetricFamily> families;
  append_epp_families(pool, workers, index, control, build, names, families);
  if (flow) append_flow_families(*flow, workers, names != MetricNames::LlmD, names != MetricNames::Gaie, families);
  gateway_families(counters, index, control, families);
  migration_families(workers, families);
  label_overflow_family(workers, families);
  std::string out;
  append_text_exposition(out, families);
  return out;
}

}  // namespace ringgate::control
