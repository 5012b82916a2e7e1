#include "ringgate/control/epp_metrics.h"

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>

#include "ringgate/control/gateway_metrics.h"
#include "ringgate/sched/scheduler.h"

#include "metric_family_build.h"

namespace ringgate::control {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;
using metric_build::family;
using metric_build::add_value;

// One histogram summed across workers (and label sets), as non-cumulative bucket counts
// over the bounds it was observed with.
template <size_t N>
struct Hist {
  std::array<uint64_t, N + 1> buckets{};
  double sum = 0;
  void add(const util::SingleWriterHistogram<N>& h) {
    for (size_t i = 0; i <= N; ++i) buckets[i] += h.bucket(i);
    sum += h.sum();
  }
  void add(const Hist& h) {
    for (size_t i = 0; i <= N; ++i) buckets[i] += h.buckets[i];
    sum += h.sum;
  }
  // Emitted over `out_bounds`, a subset of the observed `bounds` (llm-d's TTFT ladder stops
  // at 120 s where GAIE's goes on to 3600 s): the cumulative count at each kept bound is
  // exact because every observed bucket lies wholly below or above it.
  // A label set that never observed this histogram has no series, as a client library
  // creates one at its first observation (llm-d's streaming TPOT and ITL for a flow that
  // never streamed; its TTFT under the streaming value it never used).
  template <size_t M>
  void emit(MetricFamily& f, Labels labels, const std::array<double, N>& bounds,
            const std::array<double, M>& out_bounds) const {
    if (empty()) return;
    ClientMetric m;
    m.label = std::move(labels);
    uint64_t cumulative = 0;
    size_t i = 0;
    for (double bound : out_bounds) {
      while (i < N && bounds[i] <= bound) cumulative += buckets[i++];
      m.histogram.bucket.push_back({cumulative, bound});
    }
    uint64_t total = 0;
    for (uint64_t b : buckets) total += b;
    m.histogram.bucket.push_back({total, std::numeric_limits<double>::infinity()});
    m.histogram.sample_count = total;
    m.histogram.sample_sum = sum;
    f.metric.push_back(std::move(m));
  }
  void emit(MetricFamily& f, Labels labels, const std::array<double, N>& bounds) const {
    emit(f, std::move(labels), bounds, bounds);
  }
  bool empty() const {
    for (uint64_t b : buckets)
      if (b) return false;
    return true;
  }
};

// llm-d's ladders that are subsets of what is observed.
constexpr std::array<double, 24> kLlmdTtftBuckets = {0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2,
                                                     3,     4,     5,    6,   8,   10,  15,  20,  30,  45,   60,  120};
constexpr std::array<double, 19> kLlmdTpotBuckets = {0.0005, 0.00205, 0.005, 0.01, 0.02, 0.04, 0.06,
                                                     0.08,   0.1,     0.125, 0.15, 0.2,  0.3,  0.4,
                                                     0.5,    0.6,     0.8,   1,    2};

struct Sum {
  uint64_t requests = 0;
  int64_t running = 0;
  std::array<uint64_t, metrics::kErrorCodeNames.size()> errors{};
  Hist<metrics::kRequestDurationBuckets.size()> duration;
  std::array<Hist<metrics::kRequestDurationBuckets.size()>, 2> ttft;  // [streaming]
  Hist<metrics::kNtpotBuckets.size()> ntpot;
  Hist<metrics::kTpotBuckets.size()> tpot;
  Hist<metrics::kItlBuckets.size()> itl;
  Hist<metrics::kInputTokenBuckets.size()> input_tokens, cached_tokens;
  Hist<metrics::kOutputTokenBuckets.size()> output_tokens;
  Hist<metrics::kRequestSizeBuckets.size()> request_sizes;
  Hist<metrics::kResponseSizeBuckets.size()> response_sizes;

  void add(const metrics::ObjectiveStats& s) {
    requests += s.requests.get();
    running += s.running.get();
    for (size_t i = 0; i < errors.size(); ++i) errors[i] += s.errors[i].get();
    duration.add(s.duration);
    for (size_t i = 0; i < 2; ++i) ttft[i].add(s.ttft[i]);
    ntpot.add(s.ntpot);
    tpot.add(s.tpot);
    itl.add(s.itl);
    input_tokens.add(s.input_tokens);
    cached_tokens.add(s.cached_tokens);
    output_tokens.add(s.output_tokens);
    request_sizes.add(s.request_sizes);
    response_sizes.add(s.response_sizes);
  }
  void add(const Sum& s) {
    requests += s.requests;
    running += s.running;
    for (size_t i = 0; i < errors.size(); ++i) errors[i] += s.errors[i];
    duration.add(s.duration);
    for (size_t i = 0; i < 2; ++i) ttft[i].add(s.ttft[i]);
    ntpot.add(s.ntpot);
    tpot.add(s.tpot);
    itl.add(s.itl);
    input_tokens.add(s.input_tokens);
    cached_tokens.add(s.cached_tokens);
    output_tokens.add(s.output_tokens);
    request_sizes.add(s.request_sizes);
    response_sizes.add(s.response_sizes);
  }
  // Nothing happened under this label set yet (a model name seen only in a refused
  // request still has its error counted, so errors keep it).
  bool empty() const {
    uint64_t e = 0;
    for (uint64_t v : errors) e += v;
    return requests == 0 && running == 0 && e == 0;
  }
};

using Key = std::tuple<std::string, std::string, std::string, std::string>;  // model, target, priority, fairness

// The label value for a model name: itself when the pool serves it, else "other"
// (issue 12: a worker counts a name it was sent, the pool may stop serving it since).
std::string_view model_label(const PoolView& pool, std::string_view model) {
  if (!pool.serves_model || model == kOtherModel || pool.serves_model(model)) return model;
  return kOtherModel;
}

std::map<Key, Sum> sum_objectives(const PoolView& pool, std::span<const metrics::WorkerStats* const> workers) {
  std::map<Key, Sum> sums;
  for (const metrics::WorkerStats* w : workers) {
    w->objectives.for_each([&](std::string_view key, const metrics::ObjectiveStats& s) {
      const metrics::ObjectiveLabels l = metrics::split_objective_key(key);
      Sum one;
      one.add(s);
      if (one.empty()) return;
      sums[Key{std::string(model_label(pool, l.model)), std::string(model_label(pool, l.target)), std::string(l.priority),
               std::string(l.fairness)}]
          .add(one);
    });
  }
  return sums;
}

void gaie_objective_families(const std::map<Key, Sum>& sums, std::vector<MetricFamily>& out) {
  std::map<std::pair<std::string, std::string>, Sum> by_pair;
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> requests;
  std::map<std::string, int64_t> running;
  for (const auto& [k, s] : sums) {
    const auto& [model, target, priority, fairness] = k;
    by_pair[{model, target}].add(s);
    if (s.requests) requests[{model, target, priority}] += s.requests;
    running[model] += s.running;
  }
  auto total = family("inference_objective_request_total",
                      "Counter of inference objective requests broken out for each model and target model.",
                      MetricType::Counter);
  for (const auto& [k, n] : requests) {
    const auto& [model, target, priority] = k;
    add_value(total, {{"model_name", model}, {"priority", priority}, {"target_model_name", target}}, double(n));
  }
  auto errors = family("inference_objective_request_error_total",
                       "Counter of inference objective requests errors broken out for each model and target model.",
                       MetricType::Counter);
  auto duration = family("inference_objective_request_duration_seconds",
                         "Inference objective response latency distribution in seconds for each model and target model.",
                         MetricType::Histogram);
  auto req_sizes = family("inference_objective_request_sizes",
                          "Inference objective requests size distribution in bytes for each model and target model.",
                          MetricType::Histogram);
  auto resp_sizes = family("inference_objective_response_sizes",
                           "Inference objective responses size distribution in bytes for each model and target model.",
                           MetricType::Histogram);
  auto input = family("inference_objective_input_tokens",
                      "Inference objective input token count distribution for requests in each model.",
                      MetricType::Histogram);
  auto output = family("inference_objective_output_tokens",
                       "Inference objective output token count distribution for requests in each model.",
                       MetricType::Histogram);
  auto cached = family("inference_objective_prompt_cached_tokens",
                       "Inference objective prompt cached token count distribution for requests in each model.",
                       MetricType::Histogram);
  auto ntpot = family("inference_objective_normalized_time_per_output_token_seconds",
                      "Inference objective latency divided by number of output tokens in seconds for each model and target model.",
                      MetricType::Histogram);
  auto ttft = family("inference_objective_request_ttft_seconds",
                     "Inference model TTFT distribution in seconds for each model and target model.",
                     MetricType::Histogram);
  auto tpot = family("inference_objective_request_tpot_seconds",
                     "Inference model TPOT distribution in seconds for each model and target model.",
                     MetricType::Histogram);
  for (const auto& [pair, s] : by_pair) {
    const Labels l{{"model_name", pair.first}, {"target_model_name", pair.second}};
    for (size_t i = 0; i < s.errors.size(); ++i) {
      if (!s.errors[i]) continue;
      Labels e = l;
      e.insert(e.begin(), {"error_code", std::string(metrics::kErrorCodeNames[i])});
      add_value(errors, e, double(s.errors[i]));
    }
    s.duration.emit(duration, l, metrics::kRequestDurationBuckets);
    s.request_sizes.emit(req_sizes, l, metrics::kRequestSizeBuckets);
    s.response_sizes.emit(resp_sizes, l, metrics::kResponseSizeBuckets);
    s.input_tokens.emit(input, l, metrics::kInputTokenBuckets);
    s.output_tokens.emit(output, l, metrics::kOutputTokenBuckets);
    s.cached_tokens.emit(cached, l, metrics::kInputTokenBuckets);
    s.ntpot.emit(ntpot, l, metrics::kNtpotBuckets);
    Hist<metrics::kRequestDurationBuckets.size()> both = s.ttft[0];
    both.add(s.ttft[1]);
    both.emit(ttft, l, metrics::kRequestDurationBuckets);
    s.tpot.emit(tpot, l, metrics::kTpotBuckets);
  }
  auto run = family("inference_objective_running_requests", "Inference objective number of running requests in each model.",
                    MetricType::Gauge);
  for (const auto& [model, n] : running) add_value(run, {{"model_name", model}}, double(n));
  for (auto* f : {&total, &errors, &duration, &req_sizes, &resp_sizes, &input, &output, &cached, &run, &ntpot, &ttft, &tpot})
    out.push_back(std::move(*f));
}

void llmd_objective_families(const std::map<Key, Sum>& sums, std::vector<MetricFamily>& out) {
  auto hist = [](const char* name, const char* help) { return family(name, help, MetricType::Histogram); };
  auto total = family("llm_d_epp_request_total", "Total number of processed requests.", MetricType::Counter);
  auto errors = family("llm_d_epp_request_error_total", "Total number of request errors.", MetricType::Counter);
  auto duration = hist("llm_d_epp_request_duration_seconds", "End-to-end request latency distribution in seconds.");
  auto req_sizes = hist("llm_d_epp_request_size_bytes", "Incoming request body size distribution in bytes.");
  auto resp_sizes = hist("llm_d_epp_response_size_bytes", "Outgoing response body size distribution in bytes.");
  auto input = hist("llm_d_epp_request_input_tokens", "Input token count distribution per request.");
  auto output = hist("llm_d_epp_request_output_tokens", "Output token count distribution per request.");
  auto cached = hist("llm_d_epp_request_cached_tokens",
                     "Distribution of prompt tokens read from cache per request, as reported by the model server in the response.");
  auto running = family("llm_d_epp_request_running", "Current number of active running requests.", MetricType::Gauge);
  auto ntpot = hist("llm_d_epp_request_ntpot_seconds",
                    "Normalized time per output token in seconds (end-to-end latency divided by output token count).");
  auto ttft = hist("llm_d_epp_request_ttft_seconds",
                   "Time to first token in seconds, measured from request received to first response byte. For "
                   "non-streaming requests, this equals total request duration.");
  auto tpot = hist("llm_d_epp_request_streaming_tpot_seconds",
                   "Average time per output token in seconds for streaming requests, computed as (e2e - TTFT) / "
                   "(output_tokens - 1).");
  auto itl = hist("llm_d_epp_request_streaming_itl_seconds",
                  "Inter-token latency in seconds for streaming requests, measured as the time between consecutive "
                  "response body chunks.");
  for (const auto& [k, s] : sums) {
    const auto& [model, target, priority, fairness] = k;
    const Labels l{{"fairness_id", fairness}, {"model_name", model}, {"priority", priority}, {"target_model_name", target}};
    if (s.requests) add_value(total, l, double(s.requests));
    for (size_t i = 0; i < s.errors.size(); ++i) {
      if (!s.errors[i]) continue;
      Labels e = l;
      e.insert(e.begin(), {"error_code", std::string(metrics::kErrorCodeNames[i])});
      add_value(errors, e, double(s.errors[i]));
    }
    add_value(running, l, double(s.running));
    s.duration.emit(duration, l, metrics::kRequestDurationBuckets);
    s.request_sizes.emit(req_sizes, l, metrics::kRequestSizeBuckets);
    s.response_sizes.emit(resp_sizes, l, metrics::kResponseSizeBuckets);
    s.input_tokens.emit(input, l, metrics::kInputTokenBuckets);
    s.output_tokens.emit(output, l, metrics::kOutputTokenBuckets);
    s.cached_tokens.emit(cached, l, metrics::kInputTokenBuckets);
    s.ntpot.emit(ntpot, l, metrics::kNtpotBuckets);
    for (size_t streaming = 0; streaming < 2; ++streaming) {
      Labels t = l;
      t.push_back({"streaming", streaming ? "true" : "false"});
      s.ttft[streaming].emit(ttft, t, metrics::kRequestDurationBuckets, kLlmdTtftBuckets);
    }
    s.tpot.emit(tpot, l, metrics::kTpotBuckets, kLlmdTpotBuckets);
    s.itl.emit(itl, l, metrics::kItlBuckets);
  }
  for (auto* f : {&total, &errors, &duration, &req_sizes, &resp_sizes, &input, &output, &cached, &running, &ntpot, &ttft,
                  &tpot, &itl})
    out.push_back(std::move(*f));
}

struct PoolSummary {
  size_t fresh = 0;
  double kv_mean = 0, queue_mean = 0, running_mean = 0;
  double kv_sd = 0, queue_sd = 0, running_sd = 0;
  std::vector<std::pair<std::string, double>> per_pod;  // pod name, waiting
};

// GAIE's refreshPrometheusMetrics: ready pods are the pods with fresh metrics; the means
// (and llm-d's standard deviations) are over them. Per-pod queue sizes cover every pod of
// the pool (GAIE's collector lists the whole datastore), stale or not.
PoolSummary summarize_pool(const PoolView& pool) {
  PoolSummary p;
  if (!pool.snapshot) return p;
  double kv = 0, q = 0, r = 0, kv2 = 0, q2 = 0, r2 = 0;
  for (const sched::EndpointState& e : pool.snapshot->endpoints()) {
    std::string pod(pool.pod_name ? pool.pod_name(e.id) : std::string_view());
    if (pod.empty()) pod = e.address.text();
    p.per_pod.emplace_back(std::move(pod), double(e.metrics.all.waiting));
    if (!e.routable || !e.metrics_fresh(pool.now, pool.stale_after)) continue;
    ++p.fresh;
    const double a = e.metrics.all.kv_cache_usage, b = e.metrics.all.waiting, c = e.metrics.all.running;
    kv += a, q += b, r += c, kv2 += a * a, q2 += b * b, r2 += c * c;
  }
  if (p.fresh) {
    const double n = double(p.fresh);
    p.kv_mean = kv / n, p.queue_mean = q / n, p.running_mean = r / n;
    auto sd = [n](double sum, double sum2) { return std::sqrt(std::max(0.0, sum2 / n - (sum / n) * (sum / n))); };
    p.kv_sd = sd(kv, kv2), p.queue_sd = sd(q, q2), p.running_sd = sd(r, r2);
  }
  return p;
}

void pool_families(const PoolView& pool, const PoolSummary& p, bool gaie, bool llmd, std::vector<MetricFamily>& out) {
  const Labels name{{"name", pool.pool_name}};
  auto gauge = [&](const char* metric, const char* help, double v) {
    auto f = family(metric, help, MetricType::Gauge);
    add_value(f, name, v);
    out.push_back(std::move(f));
  };
  if (gaie) {
    gauge("inference_pool_average_kv_cache_utilization", "The average kv cache utilization for an inference server pool.",
          p.kv_mean);
    gauge("inference_pool_average_queue_size", "The average number of requests pending in the model server queue.",
          p.queue_mean);
    gauge("inference_pool_average_running_requests",
          "The average number of running requests across model servers in the pool.", p.running_mean);
    gauge("inference_pool_ready_pods", "The number of ready pods in the inference server pool.", double(p.fresh));
    auto per_pod = family("inference_pool_per_pod_queue_size",
                          "The total number of requests pending in the model server queue for each underlying pod.",
                          MetricType::Gauge);
    for (const auto& [pod, waiting] : p.per_pod)
      add_value(per_pod, {{"model_server_pod", pod}, {"name", pool.pool_name}}, waiting);
    out.push_back(std::move(per_pod));
  }
  if (llmd) {
    gauge("llm_d_epp_average_kv_cache_utilization", "The average kv cache utilization for an inference server pool.",
          p.kv_mean);
    gauge("llm_d_epp_average_queue_size", "The average number of requests pending in the model server queue.",
          p.queue_mean);
    gauge("llm_d_epp_average_running_requests",
          "The average number of running requests across model servers in the pool.", p.running_mean);
    gauge("llm_d_epp_std_dev_kv_cache_utilization",
          "The standard deviation kv cache utilization for an inference server pool.", p.kv_sd);
    gauge("llm_d_epp_std_dev_queue_size",
          "The standard deviation number of requests pending in the model server queue.", p.queue_sd);
    gauge("llm_d_epp_std_dev_running_requests",
          "The standard deviation number of running requests across model servers in the pool.", p.running_sd);
    gauge("llm_d_epp_ready_endpoints", "The number of ready endpoints in the inference server pool.", double(p.fresh));
    auto per_ep = family("llm_d_epp_per_endpoint_queue_size",
                         "The total number of requests pending in the model server queue for each underlying endpoint.",
                         MetricType::Gauge);
    for (const auto& [pod, waiting] : p.per_pod)
      add_value(per_ep, {{"model_server_endpoint", pod}, {"name", pool.pool_name}}, waiting);
    out.push_back(std::move(per_ep));
  }
}

struct ExtensionSum {
  Hist<metrics::kSchedulerDurationBuckets.size()> sched_duration;
  std::array<Hist<metrics::kSchedulerDurationBuckets.size()>, sched::kPluginSteps.size()> plugins;
  Hist<metrics::kHitRatioBuckets.size()> hit_ratio;
  Hist<metrics::kHitBytesBuckets.size()> hit_bytes;
  Hist<metrics::kEppRequestProcessingBuckets.size()> request_processing;
  Hist<metrics::kEppResponseProcessingBuckets.size()> response_processing;
  // status, target, pod, namespace, port
  std::map<std::tuple<std::string, std::string, std::string, std::string, std::string>, uint64_t> attempts;
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> rewrites;  // rule, model, target
};

ExtensionSum sum_extension(const PoolView& pool, std::span<const metrics::WorkerStats* const> workers) {
  ExtensionSum x;
  // Endpoint by id, once per scrape: attempts keys x endpoints would be quadratic.
  std::unordered_map<sched::EndpointId, const sched::EndpointState*> by_id;
  if (pool.snapshot)
    for (const sched::EndpointState& e : pool.snapshot->endpoints()) by_id.emplace(e.id, &e);
  for (const metrics::WorkerStats* w : workers) {
    x.sched_duration.add(w->scheduler_duration);
    for (size_t i = 0; i < x.plugins.size(); ++i) x.plugins[i].add(w->plugin_duration[i]);
    x.hit_ratio.add(w->prefix_hit_ratio);
    x.hit_bytes.add(w->prefix_hit_bytes);
    x.request_processing.add(w->epp_request_processing);
    x.response_processing.add(w->epp_response_processing);
    w->scheduler_attempts.for_each([&](std::string_view key, const util::SingleWriterCounter& c) {
      const uint64_t n = c.get();
      if (n == 0) return;
      std::array<std::string_view, 3> parts;  // "s"|"f", target, endpoint id
      if (!metrics::split_key(key, parts)) return;  // the table's overflow entry: no labels to give it
      const bool success = parts[0] == "s";
      std::string target(model_label(pool, parts[1])), pod, port;
      if (success) {
        const std::string_view id_text = parts[2];
        sched::EndpointId id = 0;
        for (char ch : id_text) id = id * 10 + sched::EndpointId(ch - '0');
        // An endpoint gone from the pool since keeps its count, without a pod to name.
        if (auto it = by_id.find(id); it != by_id.end()) {
          const sched::EndpointState& e = *it->second;
          pod.assign(pool.pod_name ? pool.pod_name(e.id) : std::string_view());
          if (pod.empty()) pod = e.address.text();
          port = std::to_string(e.address.port);
        }
      }
      const std::string ns = success && !pod.empty() ? pool.namespace_name : std::string();
      x.attempts[{success ? "success" : "failure", std::move(target), std::move(pod), ns, std::move(port)}] += n;
    });
    w->rewrite_decisions.for_each([&](std::string_view k, const util::SingleWriterCounter& c) {
      const uint64_t n = c.get();
      std::array<std::string_view, 3> parts;  // rule, model, target
      if (n == 0 || !metrics::split_key(k, parts)) return;
      x.rewrites[{std::string(parts[0]), std::string(model_label(pool, parts[1])), std::string(model_label(pool, parts[2]))}] +=
          n;
    });
  }
  return x;
}

void extension_families(const ExtensionSum& x, const sched::ScorerWeights& scorer_weights,
                        const sched::PrefixIndexStats& index, const ControlCounters& control, const BuildInfo& build,
                        bool gaie, bool llmd, std::vector<MetricFamily>& out) {
  struct Names {
    const char* info;
    const char* e2e;
    const char* plugin;
    const char* attempts;
    const char* pod_label;
    const char* rewrite;
    const char* size;
    const char* ratio;
    const char* bytes;
  };
  const Names gaie_names{"inference_extension_info", "inference_extension_scheduler_e2e_duration_seconds",
                         "inference_extension_plugin_duration_seconds",
                         "inference_extension_scheduler_attempts_total", "pod_name",
                         "inference_extension_model_rewrite_decisions_total", "inference_extension_prefix_indexer_size",
                         "inference_extension_prefix_indexer_hit_ratio", "inference_extension_prefix_indexer_hit_bytes"};
  const Names llmd_names{"llm_d_epp_info", "llm_d_epp_scheduler_e2e_duration_seconds",
                         "llm_d_epp_plugin_duration_seconds",
                         "llm_d_epp_scheduler_attempts_total", "endpoint_name",
                         "llm_d_epp_model_rewrite_decisions_total", "llm_d_epp_prefix_indexer_size",
                         "llm_d_epp_prefix_indexer_hit_ratio", "llm_d_epp_prefix_indexer_hit_bytes"};
  for (int set = 0; set < 2; ++set) {
    if ((set == 0 && !gaie) || (set == 1 && !llmd)) continue;
    const Names& n = set == 0 ? gaie_names : llmd_names;
    // llm-d's approximate prefix producer labels its series with the plugin; GAIE's have none.
    const Labels plugin = set == 0 ? Labels{}
                                   : Labels{{"plugin_name", "approx-prefix-cache-producer"},
                                            {"plugin_type", "approx-prefix-cache-producer"}};
    auto info = family(n.info, "General information of the current build of Inference Extension.", MetricType::Gauge);
    add_value(info, {{"build_ref", build.build_ref}, {"commit", build.commit}}, 1);
    auto e2e = family(n.e2e, "End-to-end scheduling latency distribution in seconds.", MetricType::Histogram);
    x.sched_duration.emit(e2e, {}, metrics::kSchedulerDurationBuckets);
    auto plugin_duration = family(n.plugin,
                                  "Plugin processing latency distribution in seconds for each extension point, plugin "
                                  "type and plugin name.",
                                  MetricType::Histogram);
    for (size_t i = 0; i < sched::kPluginSteps.size(); ++i) {
      if (i < sched::kScorerCount && scorer_weights[i] == 0) continue;  // not run
      const sched::PluginStep& step = sched::kPluginSteps[i];
      const std::string type(step.type);
      x.plugins[i].emit(plugin_duration,
                        {{"extension_point", std::string(step.extension_point)}, {"plugin_name", type}, {"plugin_type", type}},
                        metrics::kSchedulerDurationBuckets);
    }
    auto attempts = family(n.attempts, "Total number of scheduling attempts.", MetricType::Counter);
    for (const auto& [k, v] : x.attempts) {
      const auto& [status, target, pod, ns, port] = k;
      add_value(attempts, {{n.pod_label, pod}, {"namespace", ns}, {"port", port}, {"status", status},
                           {"target_model_name", target}},
                double(v));
    }
    auto rewrite = family(n.rewrite, "Total number of inference model rewrite decisions.", MetricType::Counter);
    for (const auto& [k, v] : x.rewrites) {
      const auto& [rule, model, target] = k;
      add_value(rewrite, {{"model_name", model}, {"model_rewrite_name", rule}, {"target_model", target}}, double(v));
    }
    auto size = family(n.size, "Size of the prefix indexer.", MetricType::Gauge);
    add_value(size, plugin, double(index.entries));
    auto ratio = family(n.ratio, "Ratio of prefix length matched to total prefix length in the cache lookup.",
                        MetricType::Histogram);
    x.hit_ratio.emit(ratio, plugin, metrics::kHitRatioBuckets);
    auto bytes = family(n.bytes, "Length of the prefix match in number of bytes in the cache lookup.",
                        MetricType::Histogram);
    x.hit_bytes.emit(bytes, plugin, metrics::kHitBytesBuckets);
    for (auto* f : {&info, &e2e, &plugin_duration, &attempts, &rewrite, &size, &ratio, &bytes}) out.push_back(std::move(*f));
  }
  if (llmd) {
    // llm-d's EPP processing overhead (EPP mode; unlabelled, as llm-d's).
    auto request = family("llm_d_epp_request_processing_duration_seconds",
                          "EPP request processing latency distribution in seconds, from request receipt until the "
                          "request body has been handled, including admission control (EPP mode: an ext-proc "
                          "stream's request headers until its pick or immediate response, a hold's wait included).",
                          MetricType::Histogram);
    x.request_processing.emit(request, {}, metrics::kEppRequestProcessingBuckets);
    auto response = family("llm_d_epp_response_processing_duration_seconds",
                           "EPP response processing latency distribution in seconds: the sum of per-chunk handler "
                           "time for a streamed response, or the interval from response headers to completion for a "
                           "non-streaming response (EPP mode).",
                           MetricType::Histogram);
    x.response_processing.emit(response, {}, metrics::kEppResponseProcessingBuckets);
    // Absent until observed (in EPP mode, by an ext-proc stream): a gateway has no ext-proc
    // phase to time, and an empty family would be one it never serves.
    if (!x.request_processing.empty()) out.push_back(std::move(request));
    if (!x.response_processing.empty()) out.push_back(std::move(response));
    // Failed polls of the model servers' /metrics: llm-d's metrics-data-source errors,
    // under the v0.10 name and its deprecated llm_d_inference_scheduler_ twin.
    const Labels source{{"source_type", "metrics-data-source"}};
    auto poll = family("llm_d_epp_datalayer_poll_errors_total", "Data-source poll errors per source type.",
                       MetricType::Counter);
    add_value(poll, source, double(control.scrapes_failed));
    auto legacy = family("llm_d_inference_scheduler_datalayer_poll_errors_total",
                         "[Deprecated: Use llm_d_epp_datalayer_poll_errors_total] Data-source poll errors per source type.",
                         MetricType::Counter);
    add_value(legacy, source, double(control.scrapes_failed));
    // Pages that answered but held no vLLM metrics: the core-metrics-extractor's errors.
    const Labels extractor{{"extractor_type", "core-metrics-extractor"}, {"source_type", "metrics-data-source"}};
    auto extract = family("llm_d_epp_datalayer_extract_errors_total", "Extract errors per source/extractor type.",
                          MetricType::Counter);
    add_value(extract, extractor, double(control.scrapes_unreadable));
    auto legacy_extract = family("llm_d_inference_scheduler_datalayer_extract_errors_total",
                                 "[Deprecated: Use llm_d_epp_datalayer_extract_errors_total] Extract errors per "
                                 "source/extractor type.",
                                 MetricType::Counter);
    add_value(legacy_extract, extractor, double(control.scrapes_unreadable));
    for (auto* f : {&poll, &legacy, &extract, &legacy_extract}) out.push_back(std::move(*f));
  }
}

}  // namespace

std::optional<MetricNames> parse_metric_names(std::string_view text) {
  if (text == "both") return MetricNames::Both;
  if (text == "gaie") return MetricNames::Gaie;
  if (text == "llm-d") return MetricNames::LlmD;
  return std::nullopt;
}

namespace {

// Prefill/decode disaggregation: llm-d's decision counters (under both of its names: the
// deprecated pd_decision_total and disagg_decision_total), and ringgate's prefill-leg
// failures, decode-only fallbacks and leg durations.
void disaggregation_families(const PoolView& pool, std::span<const metrics::WorkerStats* const> workers, bool llmd,
                             std::vector<MetricFamily>& out) {
  std::map<std::pair<std::string, std::string>, uint64_t> decisions;  // (model_name, decision_type)
  std::array<uint64_t, metrics::kPrefillFailureNames.size()> failures{};
  uint64_t fallbacks = 0;
  std::array<Hist<metrics::kPdLegDurationBuckets.size()>, metrics::kPdLegs.size()> legs;
  for (const metrics::WorkerStats* w : workers) {
    const metrics::DisaggregationStats& d = w->disaggregation;
    d.decisions.for_each([&](std::string_view k, const util::SingleWriterCounter& c) {
      std::array<std::string_view, 2> parts;  // model, decision type
      if (c.get() == 0 || !metrics::split_key(k, parts)) return;
      decisions[{std::string(model_label(pool, parts[0])), std::string(parts[1])}] += c.get();
    });
    for (size_t i = 0; i < failures.size(); ++i) failures[i] += d.prefill_failures[i].get();
    fallbacks += d.decode_only_fallbacks.get();
    for (size_t i = 0; i < legs.size(); ++i) legs[i].add(d.leg_duration[i]);
  }
  // As llm-d's CounterVecs: absent until a decision was made (a pool without prefill pods).
  const std::pair<const char*, const char*> llmd_families[] = {
      {"llm_d_inference_scheduler_disagg_decision_total", "[ALPHA] Total number of disaggregation routing decisions made"},
      {"llm_d_inference_scheduler_pd_decision_total", "[ALPHA] Total number of P/D disaggregation decisions made"}};
  for (const auto& [name, help] : llmd_families) {
    if (!llmd || decisions.empty()) break;
    auto f = family(name, help, MetricType::Counter);
    for (const auto& [labels, n] : decisions)
      add_value(f, {{"decision_type", labels.second}, {"model_name", labels.first}}, double(n));
    out.push_back(std::move(f));
  }
  auto failed = family("ringgate_pd_prefill_failures_total",
                       "Prefill legs of disaggregated requests that failed (tried once more elsewhere, else served "
                       "decode-only), by reason.",
                       MetricType::Counter);
  for (size_t i = 0; i < failures.size(); ++i)
    if (failures[i] > 0) add_value(failed, {{"reason", std::string(metrics::kPrefillFailureNames[i])}}, double(failures[i]));
  out.push_back(std::move(failed));
  auto fallback = family("ringgate_pd_decode_only_fallbacks_total",
                         "Disaggregated requests served decode-only because their prefill leg failed.",
                         MetricType::Counter);
  add_value(fallback, {}, double(fallbacks));
  out.push_back(std::move(fallback));
  auto duration = family("ringgate_pd_leg_duration_seconds",
                         "Legs of disaggregated requests: prefill (sent to its answer, retries included) and decode "
                         "(sent to the end of the response).",
                         MetricType::Histogram);
  for (size_t i = 0; i < legs.size(); ++i)
    legs[i].emit(duration, {{"leg", std::string(metrics::kPdLegs[i])}}, metrics::kPdLegDurationBuckets);
  out.push_back(std::move(duration));
}

// Chat content parts as the prefix hashing read them: each outcome always present.
void media_part_families(std::span<const metrics::WorkerStats* const> workers, std::vector<MetricFamily>& out) {
  std::array<uint64_t, openai::kMediaOutcomeNames.size()> parts{};
  for (const metrics::WorkerStats* w : workers)
    for (size_t i = 0; i < parts.size(); ++i) parts[i] += w->media_parts.parts[i].get();
  auto f = family("ringgate_media_parts_total",
                  "Chat content parts that are not text, by outcome: image and audio were hashed by their decoded "
                  "bytes into one unit of the prefix chain; broken (a data URI or base64 that does not decode, a media "
                  "part without its url or data) and unknown_type (a part type the gateway does not hash) were passed "
                  "on unhashed.",
                  MetricType::Counter);
  for (size_t i = 0; i < parts.size(); ++i)
    add_value(f, {{"outcome", std::string(openai::kMediaOutcomeNames[i])}}, double(parts[i]));
  out.push_back(std::move(f));
}

}  // namespace

void append_epp_families(const PoolView& pool, std::span<const metrics::WorkerStats* const> workers,
                         const sched::PrefixIndexStats& index, const ControlCounters& control, const BuildInfo& build,
                         MetricNames names, std::vector<MetricFamily>& out) {
  const bool gaie = names != MetricNames::LlmD, llmd = names != MetricNames::Gaie;
  pool_families(pool, summarize_pool(pool), gaie, llmd, out);
  const std::map<Key, Sum> sums = sum_objectives(pool, workers);
  if (gaie) gaie_objective_families(sums, out);
  if (llmd) llmd_objective_families(sums, out);
  extension_families(sum_extension(pool, workers), pool.scorer_weights, index, control, build, gaie, llmd, out);
  disaggregation_families(pool, workers, llmd, out);
  media_part_families(workers, out);
}

}  // namespace ringgate::control
