// Command-line options of ringgate-sim, spelled like vLLM's where vLLM has the
// flag, and like llm-d-inference-sim where it does not.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>
#include "ringgate/sim/completion_request.h"

namespace ringgate::sim {

class ModelTokenizer;  // model_tokenizer.h

enum class OutputMode { echo, random };

struct LoraAdapter {
  std::string name;
  std::string path;  // shown as "root" in /v1/models; the name when none was given
};

// vLLM's --kv-events-config (vllm/config/kv_events.py KVEventsConfig), same JSON keys.
struct KvEventsConfig {
  bool enable_kv_cache_events = false;
  std::string publisher = "null";  // "zmq" when enabled and not given
  std::string endpoint = "tcp://*:5557";
  std::string replay_endpoint;     // "": no replay socket
  uint32_t buffer_steps = 10000;   // batches kept for replay
  uint32_t hwm = 100000;           // PUB socket high-water mark
  uint32_t max_queue_size = 100000;
  std::string topic;
  bool publishing() const { return enable_kv_cache_events && publisher == "zmq"; }
};

// vLLM's --kv-transfer-config (vllm/config/kv_transfer.py KVTransferConfig), same JSON keys. Only
// NixlConnector is simulated (prefill/decode disaggregation, see src/sim/README.md).
struct KvTransferConfig {
  std::string kv_connector;  // "": no connector (kv_transfer_params in requests are ignored, as vLLM)
  std::string kv_role;       // kv_producer, kv_consumer or kv_both (NixlConnector acts alike for each)
  std::string engine_id;     // "": a random uuid4 at start, as vLLM's __post_init__
  // What a decode does when pulling the prefill's blocks fails: "recompute" prefills locally;
  // "fail" answers 500. The sim defaults to recompute (vLLM's own default is "fail").
  std::string kv_load_failure_policy = "recompute";
  // OffloadingConnector: kv_connector_extra_config.num_cpu_blocks, the CPU tier's size.
  uint32_t num_cpu_blocks = 0;
  // NixlConnector: prefill/decode disaggregation through kv_transfer_params.
  bool enabled() const { return kv_connector == "NixlConnector"; }
};

// --data-parallel-size's upper bound (vLLM has none; the sim keeps per-engine state bounded).
inline constexpr uint32_t kMaxDataParallelSize = 64;
// kv_connector_extra_config.num_cpu_blocks's upper bound (the CPU tier is kept in memory).
inline constexpr uint32_t kMaxCpuBlocks = 1u << 24;

struct SimOptions {
  std::string host = "0.0.0.0";
  uint16_t port = 8000;
  std::string model = "facebook/opt-125m";
  std::vector<std::string> served_model_names;  // after parsing: never empty; [0] labels metrics
  std::vector<LoraAdapter> loras;
  uint32_t max_loras = 1;

  uint32_t max_num_seqs = 256;  // per engine, as vLLM's (each data-parallel rank has its own)
  // vLLM's --data-parallel-size / --data-parallel-rank. With a rank: this process is that one rank
  // (external load balancing). Without, and size > 1: `size` engines behind one port (internal).
  uint32_t data_parallel_size = 1;
  std::optional<uint32_t> data_parallel_rank;
  bool data_parallel_size_given = false;
  double data_parallel_stats_interval_ms =
      100;  // the balancer's snapshot age (vLLM's coordinator: 100 ms)  // a rank is refused without an explicit size
  // The data-parallel ranks this process runs: {rank} with --data-parallel-rank, else 0..size-1.
  std::vector<uint32_t> local_ranks() const {
    if (data_parallel_rank) return {*data_parallel_rank};
    std::vector<uint32_t> out(data_parallel_size);
    for (uint32_t r = 0; r < data_parallel_size; ++r) out[r] = r;
    return out;
  }
  uint32_t max_waiting = 0;     // 0: unbounded, as vLLM; else the next request gets 429
  uint32_t block_size = 16;     // tokens per KV block
  uint32_t kv_blocks = 8192;
  uint32_t max_model_len = 0;   // 0: min(2048, kv_blocks * block_size)

  OutputMode mode = OutputMode::random;
  double inter_token_latency_ms = 0;
  double prefill_overhead_ms = 0;
  double prefill_time_per_token_us = 0;
  MediaTokens media_tokens;  // --tokens-per-image / --tokens-per-audio
  // Prefill tokens one engine step computes (vLLM's chunked prefill budget): a longer
  // prompt is prefilled over several steps, and every step's prefill tokens delay the
  // running decodes' next tokens (tokens x prefill time per token).
  uint32_t max_num_batched_tokens = 8192;
  // --speed F: this sim's hardware speed; prefill and decode times are divided by F
  // (0.4: 2.5x slower, 2: twice as fast), so a test or benchmark can mix GPU types.
  double speed = 1;
  // --speed-after S:F: S seconds after the sim started, its speed becomes F (hardware that
  // slows down mid-run: a throttled GPU, a noisy neighbour); 0 S: never.
  double speed_change_after_s = 0;
  double speed_change_to = 1;

  KvTransferConfig kv_transfer;
  double kv_transfer_time_per_block_us = 0;  // modelled time to pull one KV block from a prefill sim
  double kv_offload_load_time_per_block_us = 2;  // modelled time to load one KV block from the CPU tier
  double nixl_abort_request_timeout_s = 480;  // VLLM_NIXL_ABORT_REQUEST_TIMEOUT: held blocks freed after this
  uint32_t max_held_kv_transfers = 4096;      // held prefills kept at most; beyond, the oldest is released
  double kv_pull_timeout_s = 5;               // a pull not answered by then fails (vLLM's handshake waits 5 s)
  bool fail_kv_pulls = false;                 // every pull fails (then recomputes), for tests

  double fail_rate = 0;       // fraction of requests answered 500
  double fail_mid_stream_rate = 0;  // fraction of completions whose connection drops after 1..planned-1 tokens
  double startup_delay_s = 0; // the port is bound but refuses connections until then
  double timeout_keep_alive_s = 5;  // idle connections closed after this (uvicorn's default in vLLM); 0: never
  bool legacy_gpu_cache_metric = false;
  bool enable_prompt_tokens_details = false;  // usage.prompt_tokens_details.cached_tokens, as vLLM's flag
  bool enable_force_include_usage = false;    // a usage event on every stream, as vLLM's flag
  // VLLM_ENABLE_RESPONSES_API_STORE=1 from the environment (or --enable-responses-store): the
  // Responses API stores responses (store, background, previous_response_id); unset, vLLM
  // silently drops `store` and refuses `background`.
  bool enable_responses_store = false;
  // The store's bounds (vLLM has none): beyond them the oldest responses are forgotten.
  size_t responses_store_max_entries = 100000;
  size_t responses_store_max_bytes = size_t(1) << 30;
  // --response-id-bytes (sim only): a Responses API id's length, "resp_" and random hex
  // (vLLM's: 37); longer ones play a server that fills the gateway's response table.
  uint32_t response_id_bytes = 37;
  std::string vllm_version = "0.12.0";        // the release followed where versions differ (0.10 or 0.12)
  // --seed N: random mode's outputs are a function of N and the text (two sims with the same N answer the
  // same request alike); the faults draw from it too. Unset: a new N per request, from the clock.
  std::optional<uint64_t> seed;
  // --fault-seed N: seeds the fault draws (--fail-rate, --fail-mid-stream-rate) apart from
  // the text, so sims that share --seed (to continue each other's output) still fail
  // independently, as servers do. Default: from --seed.
  std::optional<uint64_t> fault_seed;
  KvEventsConfig kv_events;
  // PYTHONHASHSEED from the environment, as vLLM reads it: seeds NONE_HASH of
  // the block hashes; unset means random (nobody outside can match the hashes).
  std::optional<std::string> python_hash_seed;
  // --tokenizer DIR (a tokenizer.json directory): tokens are the model's; empty: 4 bytes a token.
  std::string otlp_traces_endpoint;  // --otlp-traces-endpoint: a span per request, as vLLM's
  std::string tokenizer_dir;
  std::shared_ptr<const ModelTokenizer> tokenizer;  // loaded from tokenizer_dir at start
};

struct HelpRequested {};
struct OptionsError {
  std::string message;
};

using ParsedOptions = std::variant<SimOptions, HelpRequested, OptionsError>;

// Parses argv (argv[0] excluded). Accepts "--flag value" and "--flag=value".
// Fills in derived defaults (served names, max_model_len) and checks ranges.
ParsedOptions parse_options(const std::vector<std::string>& args);

// The text printed by --help: every flag, its default and what it does.
std::string options_help();

}  // namespace ringgate::sim
