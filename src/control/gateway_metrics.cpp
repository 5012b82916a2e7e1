#include "ringgate/control/gateway_metrics.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <map>

#include "ringgate/net/io_backend.h"
#include <sstream>

namespace ringgate::control {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

using Labels = std::vector<ClientMetric::Label>;

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

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

// Sum of one histogram across workers, kept as non-cumulative bucket counts.
template <size_t N>
struct HistogramSum {
  std::array<uint64_t, N + 1> buckets{};
  double sum = 0;
  void add(const util::SingleWriterHistogram<N>& h) {
    for (size_t i = 0; i <= N; ++i) buckets[i] += h.bucket(i);
    sum += h.sum();
  }
  void emit(MetricFamily& f, Labels labels, const std::array<double, N>& bounds) const {
    ClientMetric m;
    m.label = std::move(labels);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < N; ++i) {
      cumulative += buckets[i];
      m.histogram.bucket.push_back({cumulative, bounds[i]});
    }
    cumulative += buckets[N];
    m.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
    m.histogram.sample_count = cumulative;
    m.histogram.sample_sum = sum;
    f.metric.push_back(std::move(m));
  }
};

struct ObjectiveSum {
  uint64_t requests = 0;
  int64_t running = 0;
  std::array<uint64_t, metrics::kErrorStatuses.size() + 1> errors{};
  HistogramSum<metrics::kRequestDurationBuckets.size()> duration, ttft;
  HistogramSum<metrics::kNtpotBuckets.size()> ntpot;
  HistogramSum<metrics::kInputTokenBuckets.size()> input_tokens;
  HistogramSum<metrics::kOutputTokenBuckets.size()> output_tokens;
};

void pool_families(const PoolView& pool, std::vector<MetricFamily>& out) {
  auto ready = family("inference_pool_ready_pods", "The number of ready pods in the inference server pool.",
                      MetricType::Gauge);
  auto kv = family("inference_pool_average_kv_cache_utilization",
                   "The average kv cache utilization for an inference server pool.", MetricType::Gauge);
  auto queue = family("inference_pool_average_queue_size",
                      "The average number of requests pending in the model server queue.", MetricType::Gauge);
  auto running = family("inference_pool_average_running_requests",
                        "The average number of requests running in the model servers.", MetricType::Gauge);
  auto per_pod = family("inference_pool_per_pod_queue_size",
                        "The total number of requests pending in the model server queue for each underlying pod.",
                        MetricType::Gauge);
  Labels name{{"name", pool.pool_name}};
  size_t ready_pods = 0, fresh = 0;
  double kv_sum = 0, queue_sum = 0, running_sum = 0;
  if (pool.snapshot) {
    for (const sched::EndpointState& e : pool.snapshot->endpoints()) {
      if (!e.routable) continue;  // out of rotation: its load is nobody's concern
      ++ready_pods;
      // Averages leave out endpoints whose metrics are stale: an old number is not the truth.
      if (!e.metrics_fresh(pool.now, pool.stale_after)) continue;
      ++fresh;
      kv_sum += e.metrics.all.kv_cache_usage;
      queue_sum += e.metrics.all.waiting;
      running_sum += e.metrics.all.running;
      std::string pod(pool.pod_name ? pool.pod_name(e.id) : std::string_view());
      if (pod.empty()) pod = e.address.text();
      add_gauge(per_pod, {{"model_server_pod", pod}, {"name", pool.pool_name}}, e.metrics.all.waiting);
    }
  }
  add_gauge(ready, name, double(ready_pods));
  add_gauge(kv, name, fresh ? kv_sum / double(fresh) : 0);
  add_gauge(queue, name, fresh ? queue_sum / double(fresh) : 0);
  add_gauge(running, name, fresh ? running_sum / double(fresh) : 0);
  out.push_back(std::move(ready));
  out.push_back(std::move(kv));
  out.push_back(std::move(queue));
  out.push_back(std::move(running));
  out.push_back(std::move(per_pod));
}

// The label value for a model name: itself when the pool serves it, else "other".
std::string_view model_label(const PoolView& pool, std::string_view model) {
  if (!pool.serves_model || model == kOtherModel || pool.serves_model(model)) return model;
  return kOtherModel;
}

void objective_families(const PoolView& pool, std::span<const metrics::WorkerStats* const> workers,
                        std::vector<MetricFamily>& out) {
  std::map<std::string, ObjectiveSum, std::less<>> sums;  // by objective_key of the labels
  std::string key_scratch;
  for (const metrics::WorkerStats* w : workers) {
    w->objectives.for_each([&](std::string_view key, const metrics::ObjectiveStats& s) {
      uint64_t n = s.requests.get();
      if (n == 0 && s.running.get() == 0) return;
      auto [model, target] = metrics::split_objective_key(key);
      key = metrics::objective_key(model_label(pool, model), model_label(pool, target), key_scratch);
      auto it = sums.find(key);
      if (it == sums.end()) it = sums.emplace(std::string(key), ObjectiveSum{}).first;
      ObjectiveSum& o = it->second;
      o.requests += n;
      o.running += s.running.get();
      for (size_t i = 0; i < o.errors.size(); ++i) o.errors[i] += s.errors[i].get();
      o.duration.add(s.duration);
      o.ttft.add(s.ttft);
      o.ntpot.add(s.ntpot);
      o.input_tokens.add(s.input_tokens);
      o.output_tokens.add(s.output_tokens);
    });
  }
  auto total = family("inference_objective_request_total",
                      "Counter of inference objective requests broken out for each model and target model.",
                      MetricType::Counter);
  auto errors = family("inference_objective_request_error_total",
                       "Counter of inference objective requests errors broken out for each model and target model.",
                       MetricType::Counter);
  auto duration = family("inference_objective_request_duration_seconds",
                         "Inference objective response latency distribution in seconds for each model and target model.",
                         MetricType::Histogram);
  auto ttft = family("inference_objective_request_ttft_seconds",
                     "Inference objective time to first token distribution in seconds for each model and target model.",
                     MetricType::Histogram);
  auto ntpot = family("inference_objective_normalized_time_per_output_token_seconds",
                      "Inference objective latency divided by number of output tokens in seconds for each model and target model.",
                      MetricType::Histogram);
  auto input = family("inference_objective_input_tokens",
                      "Inference objective input token count distribution for requests in each model.",
                      MetricType::Histogram);
  auto output = family("inference_objective_output_tokens",
                       "Inference objective output token count distribution for requests in each model.",
                       MetricType::Histogram);
  auto running = family("inference_objective_running_requests",
                        "Inference objective number of running requests in each model.", MetricType::Gauge);
  std::map<std::string, int64_t, std::less<>> running_by_model;
  for (auto& [key, o] : sums) {
    auto [model, target] = metrics::split_objective_key(key);
    Labels pair{{"model_name", std::string(model)}, {"target_model_name", std::string(target)}};
    add_counter(total, pair, double(o.requests));
    for (size_t i = 0; i < o.errors.size(); ++i) {
      if (!o.errors[i]) continue;
      std::string code = i < metrics::kErrorStatuses.size() ? std::to_string(metrics::kErrorStatuses[i]) : "other";
      Labels l = pair;
      l.push_back({"error_code", code});
      add_counter(errors, l, double(o.errors[i]));
    }
    o.duration.emit(duration, pair, metrics::kRequestDurationBuckets);
    o.ttft.emit(ttft, pair, metrics::kRequestDurationBuckets);
    o.ntpot.emit(ntpot, pair, metrics::kNtpotBuckets);
    o.input_tokens.emit(input, pair, metrics::kInputTokenBuckets);
    o.output_tokens.emit(output, pair, metrics::kOutputTokenBuckets);
    running_by_model[std::string(model)] += o.running;
  }
  for (auto& [model, n] : running_by_model) add_gauge(running, {{"model_name", model}}, double(n));
  for (auto* f : {&total, &errors, &duration, &ttft, &ntpot, &input, &output, &running}) out.push_back(std::move(*f));
}

void extension_families(const PoolView& pool, std::span<const metrics::WorkerStats* const> workers,
                        const sched::PrefixIndexStats& index, const BuildInfo& build, std::vector<MetricFamily>& out) {
  HistogramSum<metrics::kSchedulerDurationBuckets.size()> sched_duration;
  HistogramSum<metrics::kHitRatioBuckets.size()> hit_ratio;
  uint64_t ok = 0, failed = 0;
  std::map<std::string, uint64_t, std::less<>> rewrites;
  std::string key_scratch;
  for (const metrics::WorkerStats* w : workers) {
    sched_duration.add(w->scheduler_duration);
    hit_ratio.add(w->prefix_hit_ratio);
    ok += w->scheduler_success.get();
    failed += w->scheduler_failure.get();
    w->rewrite_decisions.for_each([&](std::string_view key, const util::SingleWriterCounter& c) {
      uint64_t n = c.get();
      std::array<std::string_view, 3> parts;  // rule, model, target
      if (n == 0 || !metrics::split_key(key, parts)) return;
      rewrites[std::string(metrics::rewrite_decision_key(parts[0], model_label(pool, parts[1]),
                                                         model_label(pool, parts[2]), key_scratch))] += n;
    });
  }
  auto info = family("inference_extension_info", "General information of the current build of Inference Extension.",
                     MetricType::Gauge);
  add_gauge(info, {{"build_ref", build.build_ref}, {"commit", build.commit}}, 1);
  auto e2e = family("inference_extension_scheduler_e2e_duration_seconds",
                    "End-to-end scheduling latency distribution in seconds.", MetricType::Histogram);
  sched_duration.emit(e2e, {}, metrics::kSchedulerDurationBuckets);
  auto attempts = family("inference_extension_scheduler_attempts_total", "Total number of scheduling attempts.",
                         MetricType::Counter);
  add_counter(attempts, {{"status", "failure"}}, double(failed));
  add_counter(attempts, {{"status", "success"}}, double(ok));
  auto size = family("inference_extension_prefix_indexer_size", "Size of the prefix indexer.", MetricType::Gauge);
  add_gauge(size, {}, double(index.entries));
  auto ratio = family("inference_extension_prefix_indexer_hit_ratio",
                      "Ratio of prefix length matched to total prefix length in the cache lookup.",
                      MetricType::Histogram);
  hit_ratio.emit(ratio, {}, metrics::kHitRatioBuckets);
  auto rewrite = family("inference_extension_model_rewrite_decisions_total",
                        "Total number of inference model rewrite decisions.", MetricType::Counter);
  for (auto& [key, n] : rewrites) {
    std::array<std::string_view, 3> parts;
    if (!metrics::split_key(key, parts)) continue;
    add_counter(rewrite,
                {{"model_name", std::string(parts[1])},
                 {"model_rewrite_name", std::string(parts[0])},
                 {"target_model", std::string(parts[2])}},
                double(n));
  }
  for (auto* f : {&info, &e2e, &attempts, &size, &ratio, &rewrite}) out.push_back(std::move(*f));
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
  auto plain = [&](const char* name, const char* help, MetricType type, double v) {
    auto f = family(name, help, type);
    if (type == MetricType::Counter) add_counter(f, {}, v);
    else add_gauge(f, {}, v);
    out.push_back(std::move(f));
  };
  plain("ringgate_endpoint_ejections_total", "Endpoints taken out of rotation after consecutive failures.",
        MetricType::Counter, double(control.ejections));
  plain("ringgate_metrics_scrapes_total", "Successful scrapes of model server /metrics.", MetricType::Counter,
        double(control.scrapes_ok));
  plain("ringgate_metrics_scrape_failures_total", "Failed scrapes of model server /metrics.", MetricType::Counter,
        double(control.scrapes_failed));
  plain("ringgate_snapshots_published_total", "Endpoint snapshots published to the workers.", MetricType::Counter,
        double(control.snapshots_published));
  plain("ringgate_config_reloads_total", "Configuration reloads applied.", MetricType::Counter,
        double(control.config_reloads_ok));
  plain("ringgate_config_reload_failures_total", "Configuration reloads rejected (old configuration kept).",
        MetricType::Counter, double(control.config_reloads_failed));
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
}

}  // namespace

std::string render_gateway_metrics(const PoolView& pool, std::span<const metrics::WorkerStats* const> workers,
                                   std::span<const proxy::WorkerCounters* const> counters,
                                   const sched::PrefixIndexStats& index, const ControlCounters& control,
                                   const BuildInfo& build) {
  std::vector<MetricFamily> families;
  pool_families(pool, families);
  objective_families(pool, workers, families);
  extension_families(pool, workers, index, build, families);
  gateway_families(counters, index, control, families);
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace ringgate::control
