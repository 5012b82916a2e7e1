#include "ringgate/sim/sim_metrics.h"

#include <algorithm>
#include <charconv>

namespace ringgate::sim {
namespace {

constexpr double kTtftBuckets[] = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
                                   1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
constexpr double kE2eBuckets[] = {0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,    10.0,   15.0,  20.0,
                                  30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
constexpr double kItlBuckets[] = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3,  0.4, 0.5,
                                  0.75, 1.0,   2.5,  5.0,   7.5, 10.0, 20.0, 40.0, 80.0};
constexpr double kIterationTokenBuckets[] = {1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};
constexpr double kParamsNBuckets[] = {1, 2, 5, 10, 20};

// prometheus_client's floatToGoString: Python's repr (fixed notation for
// 1e-4 <= |v| < 1e16, else scientific), then Go's earlier switch to an
// exponent for values with more than 6 digits before the point.
void append_number(std::string& out, double v) {
  char buf[64];
  const double a = v < 0 ? -v : v;
  const bool fixed = a == 0 || (a >= 1e-4 && a < 1e16);
  auto [end, ec] = fixed ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                         : std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string s(buf, ec == std::errc() ? size_t(end - buf) : 0);
  if (fixed && s.find('.') == std::string::npos) s += ".0";
  const size_t dot = s.find('.');
  if (fixed && v > 0 && dot != std::string::npos && dot > 6) {
    std::string mantissa = s.substr(0, 1) + "." + s.substr(1, dot - 1) + s.substr(dot + 1);
    while (!mantissa.empty() && (mantissa.back() == '0' || mantissa.back() == '.')) mantissa.pop_back();
    s = mantissa + "e+0" + std::to_string(dot - 1);
  }
  out += s;
}

void append_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

void append_header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

struct Label {
  std::string_view name;
  std::string value;  // raw; escaped when written
};

// A label set as text. Real vLLM v1 servers print labels sorted by name
// ({engine="0",le="0.1",model_name="m"} in every capture found), not in the
// order loggers.py declares them.
std::string label_text(std::vector<Label> labels) {
  std::stable_sort(labels.begin(), labels.end(), [](const Label& a, const Label& b) { return a.name < b.name; });
  std::string out;
  for (const Label& l : labels) {
    if (!out.empty()) out += ',';
    out += l.name;
    out += "=\"";
    append_label_value(out, l.value);
    out += '"';
  }
  return out;
}

void append_sample(std::string& out, const char* name, std::string_view labels, double v) {
  out += name;
  out += '{';
  out += labels;
  out += "} ";
  append_number(out, v);
  out += '\n';
}

void append_histogram_series(std::string& out, const char* name, const Histogram& h, const std::string& model_name,
                             const std::string& engine) {
  std::string base = name;
  const std::string bucket_name = base + "_bucket";
  auto bounds = h.upper_bounds();
  for (size_t i = 0; i <= bounds.size(); ++i) {
    std::string le;
    if (i < bounds.size()) append_number(le, bounds[i]);
    else le = "+Inf";
    append_sample(out, bucket_name.c_str(),
                  label_text({{"model_name", model_name}, {"engine", engine}, {"le", std::move(le)}}),
                  double(h.cumulative_count(i)));
  }
  const std::string labels = label_text({{"model_name", model_name}, {"engine", engine}});
  append_sample(out, (base + "_sum").c_str(), labels, h.sum());
  append_sample(out, (base + "_count").c_str(), labels, double(h.count()));
}

}  // namespace

Histogram::Histogram(std::span<const double> upper_bounds)
    : bounds_(upper_bounds.begin(), upper_bounds.end()), per_bucket_(upper_bounds.size() + 1, 0) {}

void Histogram::observe(double value) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  ++per_bucket_[i];
  ++count_;
  sum_ += value;
}

uint64_t Histogram::cumulative_count(size_t bucket) const {
  uint64_t n = 0;
  for (size_t i = 0; i <= bucket && i < per_bucket_.size(); ++i) n += per_bucket_[i];
  return n;
}

std::span<const double> ttft_buckets() { return kTtftBuckets; }
std::span<const double> e2e_latency_buckets() { return kE2eBuckets; }
std::span<const double> inter_token_latency_buckets() { return kItlBuckets; }
std::span<const double> iteration_tokens_buckets() { return kIterationTokenBuckets; }
std::span<const double> params_n_buckets() { return kParamsNBuckets; }

// NixlPromMetrics: vllm:nixl_xfer_time_seconds takes buckets[1:] of its list.
constexpr double kNixlXferTimeBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 5.0};
std::span<const double> nixl_xfer_time_buckets() { return kNixlXferTimeBuckets; }

std::vector<double> one_two_five_buckets(uint64_t max_value) {
  std::vector<double> out;
  for (uint64_t scale = 1;; scale *= 10) {
    for (uint64_t m : {1, 2, 5}) {
      if (m * scale > max_value) return out;
      out.push_back(double(m * scale));
    }
  }
}

SimCounters::SimCounters(uint32_t max_model_len)
    : request_prompt_tokens(one_two_five_buckets(max_model_len)),
      request_generation_tokens(one_two_five_buckets(max_model_len)),
      request_params_max_tokens(one_two_five_buckets(max_model_len)),
      request_max_num_generation_tokens(one_two_five_buckets(max_model_len)) {}

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::stop: return "stop";
    case FinishReason::length: return "length";
    case FinishReason::abort: return "abort";
  }
  return "stop";
}

std::string render_metrics(std::span<const EngineMetrics> engines, const SimGauges& g) {
  std::string out;
  out.reserve(32768);
  const bool v0_10 = g.version == MetricsVersion::v0_10;
  std::vector<std::string> engine_names;  // the engine label of each, "0", "1", ...
  std::vector<std::string> labels;        // {engine, model_name} of each
  for (const EngineMetrics& e : engines) {
    engine_names.push_back(std::to_string(e.rank));
    labels.push_back(label_text({{"model_name", g.model_name}, {"engine", engine_names.back()}}));
  }
  // A family's header once, then one sample per engine: value(engine) gives each its value.
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    append_header(out, name, type, help);
    for (size_t i = 0; i < engines.size(); ++i) append_sample(out, name, labels[i], double(value(engines[i])));
  };
  auto gauge = [&](const char* name, const char* help, auto value) { family(name, "gauge", help, value); };
  auto counter = [&](const char* name, const char* help, auto value) { family(name, "counter", help, value); };

  // In the order vLLM registers them (vllm/v1/metrics/loggers.py).
  gauge("vllm:num_requests_running", "Number of requests in model execution batches.",
        [](const EngineMetrics& e) { return e.running; });
  gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.",
        [](const EngineMetrics& e) { return e.waiting; });
  gauge("ringgate_sim_num_requests_running_peak",
        "The most requests in model execution batches at once since the start (at most --max-num-seqs).",
        [](const EngineMetrics& e) { return e.counters->running_peak; });
  gauge("ringgate_sim_num_requests_waiting_peak", "The most requests waiting at once since the start.",
        [](const EngineMetrics& e) { return e.counters->waiting_peak; });
  if (!v0_10) {
    append_header(out, "vllm:engine_sleep_state", "gauge",
                  "Engine sleep state; awake = 0 means engine is sleeping; awake = 1 means engine is awake; "
                  "weights_offloaded = 1 means sleep level 1; discard_all = 1 means sleep level 2.");
    for (const std::string& engine : engine_names) {
      for (const char* state : {"awake", "weights_offloaded", "discard_all"}) {
        std::string l = label_text({{"model_name", g.model_name}, {"engine", engine}, {"sleep_state", state}});
        append_sample(out, "vllm:engine_sleep_state", l, std::string_view(state) == "awake" ? 1.0 : 0.0);
      }
    }
  }
  if (v0_10 || g.legacy_gpu_cache_metric) {
    gauge("vllm:gpu_cache_usage_perc",
          "GPU KV-cache usage. 1 means 100 percent usage.DEPRECATED: Use vllm:kv_cache_usage_perc instead.",
          [](const EngineMetrics& e) { return e.kv_cache_usage; });
  }
  if (v0_10) {
    counter("vllm:gpu_prefix_cache_queries_total",
            "GPU prefix cache queries, in terms of number of queriedtokens. DEPRECATED: Use "
            "vllm:prefix_cache_queries instead.",
            [](const EngineMetrics& e) { return e.counters->prefix_cache_queries; });
    counter("vllm:gpu_prefix_cache_hits_total",
            "GPU prefix cache hits, in terms of number of cached tokens. DEPRECATED: Use vllm:prefix_cache_hits "
            "instead.",
            [](const EngineMetrics& e) { return e.counters->prefix_cache_hits; });
  }
  gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.",
        [](const EngineMetrics& e) { return e.kv_cache_usage; });
  counter("vllm:prefix_cache_queries_total", "Prefix cache queries, in terms of number of queried tokens.",
          [](const EngineMetrics& e) { return e.counters->prefix_cache_queries; });
  counter("vllm:prefix_cache_hits_total", "Prefix cache hits, in terms of number of cached tokens.",
          [](const EngineMetrics& e) { return e.counters->prefix_cache_hits; });
  if (!v0_10) {
    counter("vllm:external_prefix_cache_queries_total",
            "External prefix cache queries from KV connector cross-instance cache sharing, in terms of number of "
            "queried tokens.",
            [](const EngineMetrics& e) { return e.counters->external_prefix_cache_queries; });
    counter("vllm:external_prefix_cache_hits_total",
            "External prefix cache hits from KV connector cross-instance cache sharing, in terms of number of "
            "cached tokens.",
            [](const EngineMetrics& e) { return e.counters->external_prefix_cache_hits; });
    counter("vllm:mm_cache_queries_total", "Multi-modal cache queries, in terms of number of queried items.",
            [](const EngineMetrics&) { return 0; });
    counter("vllm:mm_cache_hits_total", "Multi-modal cache hits, in terms of number of cached items.",
            [](const EngineMetrics&) { return 0; });
  }
  counter("vllm:num_preemptions_total", "Cumulative number of preemption from the engine.",
          [](const EngineMetrics& e) { return e.counters->num_preemptions; });
  counter("vllm:prompt_tokens_total", "Number of prefill tokens processed.",
          [](const EngineMetrics& e) { return e.counters->prompt_tokens; });
  counter("vllm:generation_tokens_total", "Number of generation tokens processed.",
          [](const EngineMetrics& e) { return e.counters->generation_tokens; });

  append_header(out, "vllm:request_success_total", "counter", "Count of successfully processed requests.");
  for (size_t i = 0; i < engines.size(); ++i) {
    for (FinishReason r : {FinishReason::stop, FinishReason::length, FinishReason::abort}) {
      std::string l = label_text(
          {{"model_name", g.model_name}, {"engine", engine_names[i]}, {"finished_reason", finish_reason_name(r)}});
      append_sample(out, "vllm:request_success_total", l, double(engines[i].counters->success[int(r)]));
    }
  }

  // Histogram families: `member` picks the engine's histogram out of its counters.
  auto histogram = [&](const char* name, const char* help, Histogram SimCounters::*member) {
    append_header(out, name, "histogram", help);
    for (size_t i = 0; i < engines.size(); ++i)
      append_histogram_series(out, name, engines[i].counters->*member, g.model_name, engine_names[i]);
  };
  histogram("vllm:request_prompt_tokens", "Number of prefill tokens processed.", &SimCounters::request_prompt_tokens);
  histogram("vllm:request_generation_tokens", "Number of generation tokens processed.",
            &SimCounters::request_generation_tokens);
  histogram("vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.",
            &SimCounters::iteration_tokens);
  histogram("vllm:request_max_num_generation_tokens", "Histogram of maximum number of requested generation tokens.",
            &SimCounters::request_max_num_generation_tokens);
  histogram("vllm:request_params_n", "Histogram of the n request parameter.", &SimCounters::request_params_n);
  histogram("vllm:request_params_max_tokens", "Histogram of the max_tokens request parameter.",
            &SimCounters::request_params_max_tokens);
  histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
            &SimCounters::time_to_first_token);
  if (v0_10) {
    histogram("vllm:time_per_output_token_seconds",
              "Histogram of time per output token in seconds.DEPRECATED: Use vllm:inter_token_latency_seconds "
              "instead.",
              &SimCounters::inter_token_latency);
  }
  histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.",
            &SimCounters::inter_token_latency);
  if (!v0_10) {
    histogram("vllm:request_time_per_output_token_seconds", "Histogram of time_per_output_token_seconds per request.",
              &SimCounters::request_time_per_output_token);
  }
  histogram("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.",
            &SimCounters::e2e_request_latency);
  histogram("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.",
            &SimCounters::request_queue_time);
  histogram("vllm:request_inference_time_seconds", "Histogram of time spent in RUNNING phase for request.",
            &SimCounters::request_inference_time);
  histogram("vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.",
            &SimCounters::request_prefill_time);
  histogram("vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.",
            &SimCounters::request_decode_time);

  // vLLM creates one series per (running, waiting) pair it ever reports and
  // sets each to the time of its last update; none before the first step.
  if (g.lora_enabled)
    counter("ringgate_sim_lora_swaps_total",
            "LoRA adapters loaded into one of the --max-loras slots because they were not in one (the first "
            "load of each included).",
            [](const EngineMetrics& e) { return e.counters->lora_swaps; });
  if (g.lora_enabled && !g.lora_series.empty()) {
    append_header(out, "vllm:lora_requests_info", "gauge", "Running stats on lora requests.");
    for (const LoraInfoSeries& series : g.lora_series) {
      std::string l = label_text({{"max_lora", std::to_string(g.max_lora)},
                                  {"waiting_lora_adapters", series.waiting_lora_adapters},
                                  {"running_lora_adapters", series.running_lora_adapters}});
      append_sample(out, "vllm:lora_requests_info", l, series.unix_time);
    }
  }

  append_header(out, "vllm:cache_config_info", "gauge", "Information of the LLMEngine CacheConfig");
  for (const std::string& engine : engine_names) {  // one series per engine, as log_metrics_info sets them
    std::string l = label_text({{"block_size", std::to_string(g.block_size)},
                                {"cache_dtype", "auto"},
                                {"enable_prefix_caching", "True"},
                                {"gpu_memory_utilization", "0.9"},
                                {"num_cpu_blocks", g.num_cpu_blocks ? std::to_string(g.num_cpu_blocks) : "None"},
                                {"num_gpu_blocks", std::to_string(g.num_gpu_blocks)},
                                {"engine", engine}});
    append_sample(out, "vllm:cache_config_info", l, 1.0);
  }

  if (g.kv_transfer.enabled) {
    // NixlConnector's NixlPromMetrics (vLLM's names), then the sim's own transfer figures.
    histogram("vllm:nixl_xfer_time_seconds", "Histogram of transfer duration for NIXL KV Cache transfers.",
              &SimCounters::nixl_xfer_time);
    counter("vllm:nixl_num_failed_transfers_total", "Number of failed NIXL KV Cache transfers.",
            [](const EngineMetrics& e) { return e.kv_transfer.failed_transfers; });
    counter("vllm:nixl_num_failed_notifications_total", "Number of failed NIXL KV Cache notifications.",
            [](const EngineMetrics&) { return 0; });
    counter("vllm:nixl_num_kv_expired_reqs_total",
            "Number of requests that had their KV expire. NOTE: This metric is tracked on the P instance.",
            [](const EngineMetrics& e) { return e.counters->kv_transfers_expired; });
    counter("ringgate_sim_kv_transfer_prefills_total",
            "Prefills for a remote decoder (do_remote_decode) whose blocks were held for it to pull.",
            [](const EngineMetrics& e) { return e.counters->kv_transfers_held; });
    counter("ringgate_sim_kv_transfer_pulls_served_total",
            "Held transfers a remote decoder pulled from this sim (their blocks freed).",
            [](const EngineMetrics& e) { return e.counters->kv_transfers_served; });
    counter("ringgate_sim_kv_transfer_held_evicted_total",
            "Held transfers freed unpulled because --max-held-kv-transfers were held.",
            [](const EngineMetrics& e) { return e.counters->kv_transfers_evicted; });
    gauge("ringgate_sim_kv_transfer_held", "Held transfers waiting for a remote decoder now.",
          [](const EngineMetrics& e) { return e.kv_transfer.held; });
    counter("ringgate_sim_kv_transfer_pulls_total",
            "Remote-prefill decodes (do_remote_prefill) that pulled their blocks from the prefill sim.",
            [](const EngineMetrics& e) { return e.kv_transfer.pulls; });
    counter("ringgate_sim_kv_transfer_blocks_total", "KV blocks pulled into this sim from prefill sims.",
            [](const EngineMetrics& e) { return e.counters->kv_blocks_transferred; });
  }
  return out;
}

std::string render_metrics(const SimCounters& counters, const SimGauges& gauges) {
  EngineMetrics one;
  one.counters = &counters;
  one.running = gauges.running;
  one.waiting = gauges.waiting;
  one.kv_cache_usage = gauges.kv_cache_usage;
  one.kv_transfer = gauges.kv_transfer;
  return render_metrics(std::span<const EngineMetrics>(&one, 1), gauges);
}

}  // namespace ringgate::sim
