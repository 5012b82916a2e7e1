// The simulator's Prometheus metrics, with vLLM's names, types, labels and
// histogram buckets, rendered in the Prometheus text exposition format.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ringgate::sim {

class Histogram {
 public:
  explicit Histogram(std::span<const double> upper_bounds);
  void observe(double value);

  std::span<const double> upper_bounds() const { return bounds_; }
  // Observations <= upper_bounds()[i], cumulative, as Prometheus wants them.
  uint64_t cumulative_count(size_t bucket) const;
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::span<const double> bounds_;
  std::vector<uint64_t> per_bucket_;  // non-cumulative; last slot is +Inf
  uint64_t count_ = 0;
  double sum_ = 0;
};

// vLLM's buckets (vllm/v1/metrics/loggers.py).
std::span<const double> ttft_buckets();
std::span<const double> e2e_latency_buckets();

enum class FinishReason { stop, length, abort };
const char* finish_reason_name(FinishReason reason);

// Counters and histograms, updated as requests run.
struct SimCounters {
  uint64_t prompt_tokens = 0;
  uint64_t generation_tokens = 0;
  uint64_t prefix_cache_queries = 0;  // prompt tokens looked up
  uint64_t prefix_cache_hits = 0;     // prompt tokens found
  uint64_t success[3] = {0, 0, 0};    // by FinishReason
  Histogram time_to_first_token{ttft_buckets()};
  Histogram e2e_request_latency{e2e_latency_buckets()};
};

// Values read at scrape time.
struct SimGauges {
  std::string model_name;
  uint32_t running = 0;
  uint32_t waiting = 0;
  double kv_cache_usage = 0;  // 0..1
  bool legacy_gpu_cache_metric = false;
  uint32_t block_size = 16;
  uint32_t num_gpu_blocks = 0;
  bool lora_enabled = false;
  uint32_t max_lora = 0;
  std::string running_lora_adapters;  // comma-separated
  std::string waiting_lora_adapters;
  double unix_time = 0;  // value of vllm:lora_requests_info, as vLLM sets it
};

std::string render_metrics(const SimCounters& counters, const SimGauges& gauges);

}  // namespace ringgate::sim
