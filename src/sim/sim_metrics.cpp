#include "ringgate/sim/sim_metrics.h"

#include <algorithm>
#include <charconv>

namespace ringgate::sim {
namespace {

constexpr double kTtftBuckets[] = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
                                   1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
constexpr double kE2eBuckets[] = {0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,    10.0,   15.0,  20.0,
                                  30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};

// Shortest round-trip form, with ".0" on whole numbers as prometheus_client prints them.
void append_number(std::string& out, double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string_view s(buf, ec == std::errc() ? size_t(end - buf) : 0);
  out += s;
  if (s.find_first_of(".eEn") == std::string_view::npos) out += ".0";
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

// {model_name="...",engine="0"} plus optional extra labels first.
std::string engine_labels(const std::string& model_name) {
  std::string l = "model_name=\"";
  append_label_value(l, model_name);
  l += "\",engine=\"0\"";
  return l;
}

void append_sample(std::string& out, const char* name, std::string_view labels, double v) {
  out += name;
  out += '{';
  out += labels;
  out += "} ";
  append_number(out, v);
  out += '\n';
}

void append_histogram(std::string& out, const char* name, const char* help, const Histogram& h,
                      const std::string& labels) {
  append_header(out, name, "histogram", help);
  std::string base = name;
  auto bounds = h.upper_bounds();
  for (size_t i = 0; i <= bounds.size(); ++i) {
    out += base;
    out += "_bucket{";
    out += labels;
    out += ",le=\"";
    if (i < bounds.size()) append_number(out, bounds[i]);
    else out += "+Inf";
    out += "\"} ";
    append_number(out, double(h.cumulative_count(i)));
    out += '\n';
  }
  append_sample(out, (base + "_sum").c_str(), labels, h.sum());
  append_sample(out, (base + "_count").c_str(), labels, double(h.count()));
}

}  // namespace

Histogram::Histogram(std::span<const double> upper_bounds)
    : bounds_(upper_bounds), per_bucket_(upper_bounds.size() + 1, 0) {}

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

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::stop: return "stop";
    case FinishReason::length: return "length";
    case FinishReason::abort: return "abort";
  }
  return "stop";
}

std::string render_metrics(const SimCounters& c, const SimGauges& g) {
  std::string out;
  out.reserve(8192);
  const std::string labels = engine_labels(g.model_name);

  append_header(out, "vllm:num_requests_running", "gauge", "Number of requests in model execution batches.");
  append_sample(out, "vllm:num_requests_running", labels, g.running);
  append_header(out, "vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.");
  append_sample(out, "vllm:num_requests_waiting", labels, g.waiting);
  if (g.legacy_gpu_cache_metric) {
    append_header(out, "vllm:gpu_cache_usage_perc", "gauge",
                  "GPU KV-cache usage. 1 means 100 percent usage.DEPRECATED: Use vllm:kv_cache_usage_perc instead.");
    append_sample(out, "vllm:gpu_cache_usage_perc", labels, g.kv_cache_usage);
  }
  append_header(out, "vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.");
  append_sample(out, "vllm:kv_cache_usage_perc", labels, g.kv_cache_usage);

  append_header(out, "vllm:prefix_cache_queries_total", "counter",
                "Prefix cache queries, in terms of number of queried tokens.");
  append_sample(out, "vllm:prefix_cache_queries_total", labels, double(c.prefix_cache_queries));
  append_header(out, "vllm:prefix_cache_hits_total", "counter",
                "Prefix cache hits, in terms of number of cached tokens.");
  append_sample(out, "vllm:prefix_cache_hits_total", labels, double(c.prefix_cache_hits));
  append_header(out, "vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.");
  append_sample(out, "vllm:prompt_tokens_total", labels, double(c.prompt_tokens));
  append_header(out, "vllm:generation_tokens_total", "counter", "Number of generation tokens processed.");
  append_sample(out, "vllm:generation_tokens_total", labels, double(c.generation_tokens));

  append_header(out, "vllm:request_success_total", "counter", "Count of successfully processed requests.");
  for (FinishReason r : {FinishReason::stop, FinishReason::length, FinishReason::abort}) {
    std::string l = labels + ",finished_reason=\"" + finish_reason_name(r) + "\"";
    append_sample(out, "vllm:request_success_total", l, double(c.success[int(r)]));
  }

  append_histogram(out, "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
                   c.time_to_first_token, labels);
  append_histogram(out, "vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.",
                   c.e2e_request_latency, labels);

  if (g.lora_enabled) {
    append_header(out, "vllm:lora_requests_info", "gauge", "Running stats on lora requests.");
    std::string l = "max_lora=\"" + std::to_string(g.max_lora) + "\",waiting_lora_adapters=\"";
    append_label_value(l, g.waiting_lora_adapters);
    l += "\",running_lora_adapters=\"";
    append_label_value(l, g.running_lora_adapters);
    l += '"';
    append_sample(out, "vllm:lora_requests_info", l, g.unix_time);
  }

  append_header(out, "vllm:cache_config_info", "gauge", "Information of the LLMEngine CacheConfig");
  std::string l = "block_size=\"" + std::to_string(g.block_size) +
                  "\",cache_dtype=\"auto\",enable_prefix_caching=\"True\",gpu_memory_utilization=\"0.9\","
                  "num_cpu_blocks=\"None\",num_gpu_blocks=\"" +
                  std::to_string(g.num_gpu_blocks) + "\",engine=\"0\"";
  append_sample(out, "vllm:cache_config_info", l, 1.0);
  return out;
}

}  // namespace ringgate::sim
