#pragma once
// The vLLM signals the scheduler needs, as read from one scrape of a server's
// /metrics endpoint. Plain data; the parser fills it in place so a poller can
// reuse one instance per endpoint and keep its string capacity across scrapes.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ringgate::metrics {

// What one /metrics page may hold. A model server is not trusted to be sane: a page
// past any of these is a failed scrape (with the reason in last_error), never a stall
// of the control thread or memory that grows with what the server sends.
struct ScrapeLimits {
  size_t max_page_bytes = 4u << 20;     // a vLLM page is tens of KB; 8 DP engines stay far below
  size_t max_models = 64;               // distinct model_name values on the gauges we read
  size_t max_adapters = 256;            // adapters in one lora_requests_info series (running + waiting)
  size_t max_label_value_bytes = 4096;  // one label value we read (adapter lists included)
  size_t max_labels_per_sample = 64;    // label pairs in one sample
  // Data-parallel engines told apart (engine="0" .. "max_engines-1"); a series of another
  // engine label (a larger number, or not a number) is counted and left out of the
  // per-engine view (VllmMetrics::engines), never a reason to refuse the page.
  size_t max_engines = 64;
  // vllm:cache_config_info is clamped into these bounds (0 stays "not reported").
  uint64_t max_block_size = 4096;          // tokens per block (vLLM: 1..256 in practice)
  uint64_t max_num_gpu_blocks = 1u << 24;  // 16.7M blocks: past any GPU's KV cache
  uint64_t max_num_cpu_blocks = 1u << 26;  // 67M blocks: past any host's offload memory
};

// The metric name a counter was read from: none yet, a deprecated name, the current one.
enum class CounterSource : uint8_t { None, Legacy, Current };

// Load signals of one model (vLLM labels its gauges with model_name). Gauges of
// several series with the same model_name (e.g. data-parallel engines, label
// engine="0", "1", ...) are combined: waiting/running summed, KV usage = the
// fullest engine (max), prefix-cache counters summed.
struct ModelLoad {
  std::string model_name;           // "" for series without a model_name label
  double waiting = 0;               // vllm:num_requests_waiting
  double running = 0;               // vllm:num_requests_running
  double kv_cache_usage = 0;        // vllm:kv_cache_usage_perc (0..1), legacy gpu_cache_usage_perc
  double prefix_cache_queries = 0;  // vllm:prefix_cache_queries_total (tokens)
  double prefix_cache_hits = 0;     // vllm:prefix_cache_hits_total (tokens)
  bool has_waiting = false;
  bool has_running = false;
  bool has_kv_cache_usage = false;
  bool has_prefix_cache = false;
  // Set when kv_cache_usage came from the legacy vllm:gpu_cache_usage_perc.
  bool kv_cache_usage_is_legacy = false;
  // Which name the prefix counters were read from. vLLM 0.9-0.10 serve the same
  // counts under both vllm:prefix_cache_* and the deprecated vllm:gpu_prefix_cache_*:
  // the new name replaces the old one rather than adding to it.
  CounterSource prefix_queries_source = CounterSource::None;
  CounterSource prefix_hits_source = CounterSource::None;
};

// vllm:lora_requests_info. When several series exist the one with the largest
// value (vLLM sets it to the time of the update) is kept.
struct LoraInfo {
  bool present = false;
  double updated_at = 0;  // the sample value
  uint32_t max_lora = 0;
  std::string running_adapters;  // comma-separated, as vLLM reports it
  std::string waiting_adapters;  // comma-separated
};

// vllm:cache_config_info labels. 0 = not reported / not a number.
struct CacheConfig {
  bool present = false;
  uint64_t block_size = 0;  // tokens per KV block
  uint64_t num_gpu_blocks = 0;
  uint64_t num_cpu_blocks = 0;  // the offload (CPU) tier's, where one is configured
};

struct VllmMetrics {
  ModelLoad all;  // every model summed (KV usage: max); model_name empty
  LoraInfo lora;
  CacheConfig cache;
  size_t samples = 0;  // sample lines seen (any metric)
  // Load-gauge samples whose engine label was past ScrapeLimits::max_engines or not a
  // number: in `all`, not in engines().
  size_t unreadable_engine_samples = 0;

  std::span<const ModelLoad> models() const { return {models_.data(), model_count_}; }
  const ModelLoad* find_model(std::string_view name) const;
  // The load of each data-parallel engine (vLLM labels its gauges engine="N"), every model
  // summed as in `all`; index = engine number, up to the largest engine the page names
  // (an engine it does not name has no has_* flag set). Empty when no gauge had an engine label.
  std::span<const ModelLoad> engines() const { return {engines_.data(), engine_count_}; }
  // Engine numbers the page names, ascending (at most ScrapeLimits::max_engines).
  size_t engines_named() const;

  // Empties the struct but keeps allocated capacity for the next scrape.
  void clear();

  // Used by the parser: the entry for `name`, created (reusing capacity) if new;
  // nullptr when that would make more than `max_models` models. Linear in the
  // models so far, which the cap keeps small: a page costs time linear in its size.
  ModelLoad* model_slot(std::string_view name, size_t max_models);
  // Used by the parser: engine `engine`'s entry (engine < max_engines, checked by the caller).
  ModelLoad& engine_slot(size_t engine);

 private:
  std::vector<ModelLoad> models_;
  size_t model_count_ = 0;
  std::vector<ModelLoad> engines_;
  size_t engine_count_ = 0;
};

// Whether `load` carries any gauge (an engine slot the page named).
inline bool has_load(const ModelLoad& load) {
  return load.has_waiting || load.has_running || load.has_kv_cache_usage || load.has_prefix_cache;
}

// Splits a comma-separated adapter list ("a,b,,c" -> a, b, c; blanks skipped,
// surrounding spaces trimmed), calling fn(std::string_view) for each name.
template <class Fn>
void for_each_adapter(std::string_view csv, Fn&& fn) {
  while (!csv.empty()) {
    size_t comma = csv.find(',');
    std::string_view item = csv.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) fn(item);
    if (comma == std::string_view::npos) break;
    csv.remove_prefix(comma + 1);
  }
}

}  // namespace ringgate::metrics
