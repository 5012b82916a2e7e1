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
  std::vector<double> bounds_;
  std::vector<uint64_t> per_bucket_;  // non-cumulative; last slot is +Inf
  uint64_t count_ = 0;
  double sum_ = 0;
};

// vLLM's buckets (vllm/v1/metrics/loggers.py, v0.12).
std::span<const double> ttft_buckets();
std::span<const double> e2e_latency_buckets();  // also queue, prefill, decode, inference time
std::span<const double> inter_token_latency_buckets();  // also request_time_per_output_token
std::span<const double> iteration_tokens_buckets();
std::span<const double> params_n_buckets();
std::span<const double> nixl_xfer_time_buckets();  // NixlPromMetrics' vllm:nixl_xfer_time_seconds
// build_1_2_5_buckets(max_model_len): 1, 2, 5, 10, 20, 50, ... up to max_value.
std::vector<double> one_two_five_buckets(uint64_t max_value);

enum class FinishReason { stop, length, abort };
const char* finish_reason_name(FinishReason reason);

// Which vLLM release's metric set to render (--vllm-version).
enum class MetricsVersion {
  v0_10,  // time_per_output_token_seconds beside inter_token_latency_seconds, gpu_cache_usage_perc
  v0_12,  // the newest: inter_token_latency_seconds and request_time_per_output_token_seconds only
};

// Counters and histograms, updated as requests run.
struct SimCounters {
  explicit SimCounters(uint32_t max_model_len = 2048);

  uint64_t prompt_tokens = 0;
  uint64_t generation_tokens = 0;
  uint64_t prefix_cache_queries = 0;  // prompt tokens looked up
  uint64_t prefix_cache_hits = 0;     // prompt tokens found
  uint64_t num_preemptions = 0;
  uint64_t success[3] = {0, 0, 0};    // by FinishReason
  Histogram time_to_first_token{ttft_buckets()};
  Histogram e2e_request_latency{e2e_latency_buckets()};
  Histogram request_queue_time{e2e_latency_buckets()};
  Histogram request_prefill_time{e2e_latency_buckets()};
  Histogram request_decode_time{e2e_latency_buckets()};
  Histogram request_inference_time{e2e_latency_buckets()};
  Histogram inter_token_latency{inter_token_latency_buckets()};
  Histogram request_time_per_output_token{inter_token_latency_buckets()};
  Histogram iteration_tokens{iteration_tokens_buckets()};
  Histogram request_params_n{params_n_buckets()};
  Histogram request_prompt_tokens;
  Histogram request_generation_tokens;
  Histogram request_params_max_tokens;
  Histogram request_max_num_generation_tokens;
  // A KV connector (--kv-transfer-config): what the engine sees of transfers.
  uint64_t external_prefix_cache_queries = 0;  // prompt tokens looked up through the connector
  uint64_t external_prefix_cache_hits = 0;     // prompt tokens pulled from a remote prefill
  uint64_t kv_blocks_transferred = 0;          // blocks pulled into this engine
  uint64_t kv_transfers_held = 0;              // prefills that held their blocks for a remote decode
  uint64_t kv_transfers_served = 0;            // held transfers a remote decoder pulled (blocks freed)
  uint64_t kv_transfers_expired = 0;           // held transfers freed by the timeout (vllm:nixl_num_kv_expired_reqs)
  uint64_t kv_transfers_evicted = 0;           // held transfers freed beyond the cap
  // The most sequences running (never above --max-num-seqs) and waiting at once since the
  // start: what a test reads to know how hard a gateway pushed, without sampling gauges.
  uint32_t running_peak = 0;
  uint32_t waiting_peak = 0;
  Histogram nixl_xfer_time{nixl_xfer_time_buckets()};  // modelled time of each pull
  // LoRA adapters loaded into one of the --max-loras slots because they were not there
  // (ringgate_sim_lora_swaps_total): what routing by adapter affinity saves.
  uint64_t lora_swaps = 0;
};

// One vllm:lora_requests_info series: its labels and when it was last set.
struct LoraInfoSeries {
  std::string running_lora_adapters;  // comma-separated
  std::string waiting_lora_adapters;
  double unix_time = 0;
};

// NixlConnector's figures kept outside the engine (the API's pulls) and read at scrape time.
struct KvTransferGauges {
  bool enabled = false;           // --kv-transfer-config: render the NIXL metrics
  uint64_t pulls = 0;             // pulls that succeeded (decode side)
  uint64_t failed_transfers = 0;  // pulls that failed, then recomputed (or failed the request)
  uint32_t held = 0;              // held transfers now (prefill side)
};

// Values read at scrape time.
struct SimGauges {
  std::string model_name;
  MetricsVersion version = MetricsVersion::v0_12;
  uint32_t running = 0;
  uint32_t waiting = 0;
  double kv_cache_usage = 0;  // 0..1
  bool legacy_gpu_cache_metric = false;
  uint32_t block_size = 16;
  uint32_t num_gpu_blocks = 0;
  uint32_t num_cpu_blocks = 0;  // the OffloadingConnector's CPU tier; 0: "None", as vLLM without one
  bool lora_enabled = false;
  uint32_t max_lora = 0;
  std::vector<LoraInfoSeries> lora_series;
  KvTransferGauges kv_transfer;  // every (running, waiting) pair seen, as vLLM's gauge keeps them
};

// One engine (a data-parallel rank): its series carry engine="<rank>", as vLLM labels them.
struct EngineMetrics {
  uint32_t rank = 0;
  const SimCounters* counters = nullptr;
  uint32_t running = 0;
  uint32_t waiting = 0;
  double kv_cache_usage = 0;     // 0..1
  KvTransferGauges kv_transfer;  // this engine's pulls, failures, holds (enabled: from SimGauges)
};

// Every engine's series of a family under the family's one HELP/TYPE, engines in the order
// given; vllm:lora_requests_info (no engine label in vLLM) from `gauges`.
std::string render_metrics(std::span<const EngineMetrics> engines, const SimGauges& gauges);
// One engine, engine="0", its gauges read from `gauges`.
std::string render_metrics(const SimCounters& counters, const SimGauges& gauges);

}  // namespace ringgate::sim
