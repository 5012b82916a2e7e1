#include "ringgate/control/flow_metrics.h"

#include <algorithm>
#include <limits>
#include <map>
#include <string_view>
#include <tuple>

#include "ringgate/util/json_text.h"

#include "metric_family_build.h"

namespace ringgate::control {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;
using metric_build::family;
using metric_build::add_value;

constexpr size_t kBuckets = metrics::kFlowQueueDurationBuckets.size();

struct BandSum {
  int64_t queued = 0;
  int64_t bytes = 0;
  std::array<std::array<uint64_t, kBuckets + 1>, metrics::kFlowOutcomeNames.size()> buckets{};
  std::array<double, metrics::kFlowOutcomeNames.size()> sums{};

  void add(const metrics::FlowBandStats& s) {
    queued += s.queued.get();
    bytes += s.queued_bytes.get();
    for (size_t o = 0; o < buckets.size(); ++o) {
      for (size_t i = 0; i <= kBuckets; ++i) buckets[o][i] += s.queue_duration[o].bucket(i);
      sums[o] += s.queue_duration[o].sum();
    }
  }
  uint64_t count(size_t outcome) const {
    uint64_t n = 0;
    for (uint64_t c : buckets[outcome]) n += c;
    return n;
  }
};

int64_t parse_priority(std::string_view text) {
  int64_t priority = 0;
  const bool negative = !text.empty() && text[0] == '-';
  for (char c : text.substr(negative ? 1 : 0)) priority = priority * 10 + (c - '0');
  return negative ? -priority : priority;
}

// One series' labels: (priority, fairness_id, model_name, target_model_name).
struct SeriesLabels {
  int64_t priority = 0;
  std::string_view fairness, model, target;
};

// fn(labels, stats) for every series of one worker.
template <class Fn>
void for_each_labelled(const metrics::WorkerStats& w, Fn&& fn) {
  w.flow_bands.for_each([&](std::string_view key, const metrics::FlowBandStats& s) {
    std::array<std::string_view, 4> parts;
    // The table's own overflow entry (no band: past one "other" series per band, which
    // the config's bands never reach) has no key parts: it stays empty.
    if (!metrics::split_key(key, parts)) return;
    fn(SeriesLabels{parse_priority(parts[0]), parts[1], parts[2], parts[3]}, s);
  });
}

// fn(priority, fairness_id, stats) for every series of one worker.
template <class Fn>
void for_each_series(const metrics::WorkerStats& w, Fn&& fn) {
  for_each_labelled(w, [&](const SeriesLabels& l, const metrics::FlowBandStats& s) { fn(l.priority, l.fairness, s); });
}

// priority, fairness_id, model_name, target_model_name
using SeriesKey = std::tuple<int64_t, std::string, std::string, std::string>;

// By (priority, fairness_id, model_name, target_model_name), all workers summed.
std::map<SeriesKey, BandSum> sum_series(std::span<const metrics::WorkerStats* const> workers) {
  std::map<SeriesKey, BandSum> series;
  for (const metrics::WorkerStats* w : workers)
    for_each_labelled(*w, [&](const SeriesLabels& l, const metrics::FlowBandStats& s) {
      series[{l.priority, std::string(l.fairness), std::string(l.model), std::string(l.target)}].add(s);
    });
  return series;
}

// By priority (numerically), all flows and workers summed.
// By (priority, fairness_id), the models summed (the queue-duration histogram's labels).
std::map<std::pair<int64_t, std::string>, BandSum> sum_flows(const std::map<SeriesKey, BandSum>& series) {
  std::map<std::pair<int64_t, std::string>, BandSum> flows;
  for (const auto& [key, b] : series) {
    BandSum& f = flows[{std::get<0>(key), std::get<1>(key)}];
    f.queued += b.queued;
    f.bytes += b.bytes;
    for (size_t o = 0; o < b.buckets.size(); ++o) {
      for (size_t i = 0; i <= kBuckets; ++i) f.buckets[o][i] += b.buckets[o][i];
      f.sums[o] += b.sums[o];
    }
  }
  return flows;
}

std::map<int64_t, BandSum> sum_bands(std::span<const metrics::WorkerStats* const> workers) {
  std::map<int64_t, BandSum> bands;
  for (const metrics::WorkerStats* w : workers)
    for_each_series(*w, [&](int64_t priority, std::string_view, const metrics::FlowBandStats& s) { bands[priority].add(s); });
  return bands;
}

void add_histogram(MetricFamily& f, Labels labels, const std::array<uint64_t, kBuckets + 1>& buckets, double sum) {
  ClientMetric m;
  m.label = std::move(labels);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    cumulative += buckets[i];
    m.histogram.bucket.push_back({cumulative, metrics::kFlowQueueDurationBuckets[i]});
  }
  cumulative += buckets[kBuckets];
  m.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = sum;
  f.metric.push_back(std::move(m));
}

sched::EndpointSignals signals_of(const sched::EndpointState& e, const FlowView& view) {
  sched::EndpointSignals s;
  s.id = e.id;
  s.fresh = e.has_metrics;
  if (e.has_metrics) s.metrics_age = view.now - e.scraped_at;
  s.waiting = e.metrics.all.waiting;
  s.running = e.metrics.all.running;
  s.kv_usage = e.metrics.all.kv_cache_usage;
  s.inflight = view.inflight ? std::max<int64_t>(0, view.inflight->get(e.id)) : 0;
  s.sheddable_inflight = view.inflight ? std::clamp<int64_t>(view.inflight->get_sheddable(e.id), 0, s.inflight) : 0;
  return s;
}

}  // namespace

double pool_saturation(const FlowView& view) {
  if (view.snapshot == nullptr) return 1.0;
  double total = 0;
  size_t n = 0;
  for (const sched::EndpointState& e : view.snapshot->endpoints()) {
    if (!e.routable) continue;
    total += sched::endpoint_saturation(signals_of(e, view), view.saturation);
    ++n;
  }
  return n == 0 ? 1.0 : total / double(n);
}

void append_flow_families(const FlowView& view, std::span<const metrics::WorkerStats* const> workers, bool gaie,
                          bool llmd, std::vector<MetricFamily>& out) {
  std::map<std::pair<std::string, std::string>, uint64_t> rejections;  // tenant, budget
  for (const metrics::WorkerStats* w : workers) {
    w->rate_limit_rejections.for_each([&](std::string_view key, const util::SingleWriterCounter& c) {
      const uint64_t n = c.get();
      if (n == 0) return;
      std::array<std::string_view, 2> parts;
      if (!metrics::split_key(key, parts)) parts = {"other", "tokens"};
      rejections[{std::string(parts[0]), std::string(parts[1])}] += n;
    });
  }
  if (!rejections.empty()) {
    auto f = family("ringgate_rate_limit_rejections_total",
                    "Requests refused with 429 because their tenant's budget per minute was spent, by tenant (a tenant "
                    "none of whose requests was admitted yet, and tenants past metrics.maxLabelValues, read "
                    "\"other\") and budget (tokens or requests).",
                    MetricType::Counter);
    for (const auto& [k, n] : rejections) add_value(f, {{"budget", k.second}, {"tenant", k.first}}, double(n));
    out.push_back(std::move(f));
  }

  const std::map<SeriesKey, BandSum> series = sum_series(workers);
  if (series.empty()) return;  // flow control never queued anything: no families, as without it
  const double saturation = pool_saturation(view);
  for (int set = 0; set < 2; ++set) {
    if ((set == 0 && !gaie) || (set == 1 && !llmd)) continue;
    const std::string prefix = set == 0 ? "inference_extension_" : "llm_d_epp_";
    auto size = family(prefix + "flow_control_queue_size",
                       "Current number of requests actively held in the Flow Control queue.", MetricType::Gauge);
    auto bytes = family(prefix + "flow_control_queue_bytes",
                        "Current total size in bytes of requests actively held in the Flow Control queue.",
                        MetricType::Gauge);
    auto duration = family(prefix + "flow_control_request_queue_duration_seconds",
                           "Distribution of total time requests spend in the Flow Control layer (from enqueue to "
                           "final outcome).",
                           MetricType::Histogram);
    for (const auto& [key, b] : series) {
      const std::string p = std::to_string(std::get<0>(key));
      const std::string& fairness = std::get<1>(key);
      // llm-d labels the gauges with the request's model and its target; the histogram
      // keeps GAIE's labels (summed over models below).
      const Labels gauge_labels = {{"fairness_id", fairness},
                                   {"inference_pool", view.pool_name},
                                   {"model_name", std::get<2>(key)},
                                   {"priority", p},
                                   {"target_model_name", std::get<3>(key)}};
      add_value(size, gauge_labels, double(std::max<int64_t>(0, b.queued)));
      add_value(bytes, gauge_labels, double(std::max<int64_t>(0, b.bytes)));
    }
    for (const auto& [key, b] : sum_flows(series)) {
      const std::string p = std::to_string(key.first);
      const std::string& fairness = key.second;
      for (size_t o = 0; o < metrics::kFlowOutcomeNames.size(); ++o) {
        if (b.count(o) == 0) continue;
        add_histogram(duration,
                      {{"fairness_id", fairness},
                       {"inference_pool", view.pool_name},
                       {"outcome", std::string(metrics::kFlowOutcomeNames[o])},
                       {"priority", p}},
                      b.buckets[o], b.sums[o]);
      }
    }
    auto pool = family(prefix + "flow_control_pool_saturation",
                       "Current saturation level of the inference pool (0.0 = empty, 1.0 = fully saturated).",
                       MetricType::Gauge);
    add_value(pool, {{"inference_pool", view.pool_name}}, saturation);
    out.push_back(std::move(size));
    out.push_back(std::move(bytes));
    if (!duration.metric.empty()) out.push_back(std::move(duration));
    out.push_back(std::move(pool));
  }
}

std::string render_debug_flow(const FlowView& view, std::span<const metrics::WorkerStats* const> workers) {
  std::string body = "{\"pool\":";
  util::append_json_string(body, view.pool_name);
  body += ",\"saturation_detector\":{\"queueDepthThreshold\":" + std::to_string(view.saturation.queue_depth_threshold) +
          ",\"kvCacheUtilThreshold\":";
  util::append_json_double(body, view.saturation.kv_cache_util_threshold);
  body += ",\"maxConcurrency\":" + std::to_string(view.saturation.max_concurrency) + ",\"sheddableHeadroom\":";
  util::append_json_double(body, view.saturation.sheddable_headroom);
  body +=
      ",\"metricsStalenessThresholdMs\":" +
      std::to_string(
          std::chrono::duration_cast<std::chrono::milliseconds>(view.saturation.metrics_staleness_threshold).count()) +
      "},\"pool_saturation\":";
  util::append_json_double(body, pool_saturation(view));
  body += ",\"endpoints\":[";
  bool first = true;
  if (view.snapshot) {
    for (const sched::EndpointState& e : view.snapshot->endpoints()) {
      const sched::EndpointSignals s = signals_of(e, view);
      if (!first) body += ',';
      first = false;
      body += "{\"endpoint\":";
      util::append_json_string(body, e.address.text());
      body +=
          std::string(",\"routable\":") + (e.routable ? "true" : "false") +
          ",\"saturated\":" + (sched::endpoint_saturated(s, view.saturation) ? "true" : "false") +
          ",\"saturated_for_sheddable\":" + (sched::endpoint_saturated(s, view.saturation, true) ? "true" : "false") +
          ",\"saturation\":";
      util::append_json_double(body, sched::endpoint_saturation(s, view.saturation));
      body += ",\"estimated_waiting\":";
      util::append_json_double(body, sched::estimated_waiting(s));
      body += ",\"inflight\":" + std::to_string(s.inflight) +
              ",\"sheddable_inflight\":" + std::to_string(s.sheddable_inflight) + "}";
    }
  }
  body += "],\"bands\":[";
  first = true;
  for (const auto& [priority, b] : sum_bands(workers)) {
    if (!first) body += ',';
    first = false;
    uint64_t evicted = 0;
    for (size_t o = 2; o < metrics::kFlowOutcomeNames.size(); ++o) evicted += b.count(o);
    body += "{\"priority\":" + std::to_string(priority) + ",\"queued\":" + std::to_string(b.queued) +
            ",\"queued_bytes\":" + std::to_string(b.bytes) + ",\"dispatched\":" + std::to_string(b.count(0)) +
            ",\"rejected\":" + std::to_string(b.count(1)) + ",\"evicted\":" + std::to_string(evicted) + "}";
  }
  // Each worker's own flows (where a tenant's connections landed, how each was served).
  body += "],\"workers\":[";
  for (size_t i = 0; i < workers.size(); ++i) {
    if (i) body += ',';
    body += "{\"worker\":" + std::to_string(i) + ",\"flows\":[";
    bool first_flow = true;
    for_each_series(*workers[i], [&](int64_t priority, std::string_view fairness, const metrics::FlowBandStats& s) {
      BandSum b;
      b.add(s);
      if (!first_flow) body += ',';
      first_flow = false;
      body += "{\"priority\":" + std::to_string(priority) + ",\"fairness_id\":";
      util::append_json_string(body, fairness);
      body += ",\"queued\":" + std::to_string(b.queued) + ",\"dispatched\":" + std::to_string(b.count(0)) + "}";
    });
    body += "]}";
  }
  body += "],\"rate_limits\":";
  if (view.limiter) {
    body += "{\"tenants\":" + std::to_string(view.limiter->tenants()) +
            ",\"max_tenants\":" + std::to_string(view.limiter->max_tenants()) +
            ",\"overflowed\":" + std::to_string(view.limiter->overflowed()) + "}";
  } else {
    body += "null";
  }
  body += "}\n";
  return body;
}

}  // namespace ringgate::control
