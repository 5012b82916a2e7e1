#include "ringgate/sim/options.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <string_view>

#include <simdjson.h>

#include "ringgate/sim/latency_model.h"
#include "ringgate/util/flag_table.h"

namespace ringgate::sim {
namespace {

constexpr util::FlagSpec kFlags[] = {
    {"--host", "ADDR", "address to listen on (default 0.0.0.0)"},
    {"--port", "PORT", "port to listen on; 0 picks a free one (default 8000)"},
    {"--model", "NAME", "base model name (default facebook/opt-125m)"},
    {"--served-model-name", "NAME...", "one or more names the base model answers to; the first labels metrics", true},
    {"--lora", "NAME", "serve a LoRA adapter NAME as an extra model (repeatable)"},
    {"--lora-modules", "NAME=PATH...", "vLLM spelling of --lora: name=path or {\"name\":..,\"path\":..} adapters",
     true},
    {"--max-loras", "N", "LoRA adapters that may run at once; requests for others wait (default 1)"},
    {"--max-num-seqs", "N", "sequences running at once (default 256)"},
    {"--data-parallel-size", "N",
     "data-parallel engines, 1-64 (default 1); without --data-parallel-rank all N run behind this port, each with "
     "its own queues, slots and KV cache, picked by X-data-parallel-rank or vLLM's balancer"},
    {"--data-parallel-rank", "R",
     "this process is rank R (0..N-1) of --data-parallel-size N (vLLM's external load balancing): one engine, "
     "metrics labelled engine=\"R\", KV events on port + R"},
    {"--data-parallel-stats-interval-ms", "MS",
     "sim only: how old the queue counts vLLM's internal balancer picks from may get (its DP coordinator "
     "publishes them every 100 ms; between two, each pick counts as one more waiting); 0: live counts "
     "(default 100)"},
    {"--max-waiting", "N", "waiting-queue limit, beyond it requests get 429; 0 unbounded as vLLM (default 0)"},
    {"--block-size", "N", "tokens per KV-cache block (default 16)"},
    {"--kv-blocks", "N", "KV-cache blocks (default 8192)"},
    {"--max-model-len", "N", "prompt + output token limit (default min(2048, kv-blocks*block-size))"},
    {"--mode", "echo|random", "echo repeats the prompt token by token; random emits words (default random)"},
    {"--inter-token-latency-ms", "MS", "time between output tokens (default 0)"},
    {"--prefill-overhead-ms", "MS", "fixed prefill time per request (default 0)"},
    {"--prefill-time-per-token-us", "US", "prefill time per prompt token not found in the prefix cache (default 0)"},
    {"--tokens-per-image", "N",
     "prompt tokens a chat image_url part costs, cached by a hash of its url / data (default 576, 1-16384)"},
    {"--tokens-per-audio", "N", "prompt tokens a chat input_audio part costs, likewise (default 750, 1-16384)"},
    {"--max-num-batched-tokens", "N",
     "prefill tokens per engine step (chunked prefill); each step's prefill delays every running decode by its "
     "tokens x prefill time per token (default 8192, as vLLM)"},
    {"--speed", "F",
     "hardware speed: prefill and decode times (overhead, per token, inter-token) are divided by F, so 0.4 is "
     "2.5x slower and 2 twice as fast; 0.01-100 (default 1)"},
    {"--speed-after", "S:F",
     "S seconds after start, the --speed becomes F (a GPU slowed mid-run, e.g. 30:0.1 is 10x slower from 30 s)"},
    {"--kv-transfer-config", "JSON",
     "vLLM's KV connector: {\"kv_connector\": \"NixlConnector\", \"kv_role\": \"kv_producer|kv_consumer|kv_both\", "
     "\"engine_id\", \"kv_load_failure_policy\": \"recompute|fail\", ...}; enables prefill/decode "
     "disaggregation through kv_transfer_params"},
    {"--kv-transfer-time-per-block-us", "US", "modelled time to pull one KV block from a prefill sim (default 0)"},
    {"--kv-offload-load-time-per-block-us", "US",
     "sim only: modelled time to load one KV block from the OffloadingConnector's CPU tier (default 2)"},
    {"--nixl-abort-request-timeout", "S",
     "seconds a prefill holds its blocks for a decoder to pull (VLLM_NIXL_ABORT_REQUEST_TIMEOUT, default 480)"},
    {"--max-held-kv-transfers", "N",
     "prefills whose blocks are held at once; beyond it the oldest is freed (default 4096)"},
    {"--kv-pull-timeout", "S", "a pull from a prefill sim not answered within S seconds fails (default 5)"},
    {"--fail-kv-pulls", "", "every KV pull fails (the decode prefills locally, counted as a failed transfer)"},
    {"--fail-rate", "F", "fraction 0..1 of requests answered 500 (default 0)"},
    {"--fail-mid-stream-rate", "F",
     "fraction 0..1 of completions whose connection is dropped after k of their tokens, 1 <= k < all (a server "
     "dying mid-generation: a stream ends without its last chunk, a non-streamed answer never comes; counted in "
     "ringgate_sim_mid_stream_drops_total) (default 0)"},
    {"--startup-delay", "S",
     "seconds the port stays bound but closed (connections refused) before serving (default 0)"},
    {"--timeout-keep-alive", "S", "close connections idle this long, as vLLM's uvicorn does; 0 never (default 5)"},
    {"--legacy-gpu-cache-metric", "", "also emit vllm:gpu_cache_usage_perc"},
    {"--enable-prompt-tokens-details", "", "report usage.prompt_tokens_details.cached_tokens (when > 0), as vLLM"},
    {"--enable-force-include-usage", "", "end every stream with a usage event, as vLLM"},
    {"--enable-responses-store", "",
     "store Responses API responses (store, background, previous_response_id), as vLLM with "
     "VLLM_ENABLE_RESPONSES_API_STORE=1 (which also turns it on)"},
    {"--response-id-bytes", "N",
     "sim only: every Responses API response id is N bytes, \"resp_\" and random hex, 37-1024 (default 37, as "
     "vLLM's); a server answering each request with a long fresh id, for the gateway's bounds"},
    {"--vllm-version", "0.10|0.12", "vLLM release to imitate where they differ: metric set, /version (default 0.12)"},
    {"--inter-token-latency", "MS", "llm-d-inference-sim's name for --inter-token-latency-ms"},
    {"--time-to-first-token", "MS", "llm-d-inference-sim's name for --prefill-overhead-ms"},
    {"--kv-cache-size", "N", "llm-d-inference-sim's name for --kv-blocks"},
    {"--otlp-traces-endpoint", "URL",
     "export a span per completion request (OTLP/HTTP protobuf, the full URL: http://host:4318/v1/traces), under its "
     "traceparent, as vLLM does"},
    {"--kv-events-config", "JSON",
     "vLLM's KV-cache events: {\"enable_kv_cache_events\": true, \"publisher\": \"zmq\", \"endpoint\": "
     "\"tcp://*:5557\", \"replay_endpoint\", \"topic\", \"buffer_steps\", \"hwm\", \"max_queue_size\"}"},
    {"--prefix-caching-hash-algo", "sha256_cbor",
     "block hash function; only sha256_cbor (seeded by PYTHONHASHSEED, as vLLM) is simulated"},
    {"--tokenizer", "DIR",
     "count and hash prompt tokens with DIR's tokenizer.json and chat template (default: 4 bytes a token)"},
    {"--seed", "N",
     "random mode: each word is picked from N and the last 8 tokens of the text so far (prompt and output), so "
     "sims with the same N continue each other's output token for token; also seeds the faults (default: a new "
     "N per request, from the clock)"},
    {"--fault-seed", "N",
     "seeds the faults apart from the text: sims sharing --seed fail independently (default: from --seed)"},
    {"--help", "", "print this help and exit"},
};

template <typename T>
bool parse_uint(std::string_view text, T& out, T min_value, T max_value) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return false;
  if (v < min_value || v > max_value) return false;
  out = static_cast<T>(v);
  return true;
}

bool parse_double(std::string_view text, double& out, double min_value, double max_value) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) return false;
  if (v < min_value || v > max_value) return false;
  out = v;
  return true;
}

// vLLM's JSON form of a LoRA module: {"name": "...", "path": "...", "base_model_name": "..."}.
bool parse_lora_json(std::string_view text, LoraAdapter& out) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(text.data(), text.size()).get(doc)) return false;
  std::string_view name, path;
  if (doc["name"].get(name) || name.empty()) return false;
  if (doc["path"].get(path)) path = name;
  out.name = name;
  out.path = path;
  return true;
}

// vLLM's KVEventsConfig as JSON. Unknown keys are refused, as vLLM's config does.
std::string parse_kv_events_json(std::string_view text, KvEventsConfig& out) {
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  if (parser.parse(text.data(), text.size()).get(doc)) return "a JSON object";
  KvEventsConfig c;
  bool publisher_given = false;
  for (const simdjson::dom::key_value_pair entry : doc) {
    const std::string_view key = entry.key;
    const simdjson::dom::element value = entry.value;  // a lambda may not capture a structured binding (clang 14)
    auto get_uint = [&](uint32_t& field) -> bool {
      uint64_t v = 0;
      if (value.get(v) || v == 0 || v > 100000000) return false;
      field = static_cast<uint32_t>(v);
      return true;
    };
    auto get_string = [&](std::string& field) -> bool {
      std::string_view v;
      if (value.get(v) || v.size() > 1024) return false;
      field = v;
      return true;
    };
    if (key == "enable_kv_cache_events") {
      if (value.get(c.enable_kv_cache_events)) return "enable_kv_cache_events: a boolean";
    } else if (key == "publisher") {
      if (!get_string(c.publisher) || (c.publisher != "zmq" && c.publisher != "null")) return "publisher: zmq or null";
      publisher_given = true;
    } else if (key == "endpoint") {
      if (!get_string(c.endpoint) || c.endpoint.empty()) return "endpoint: a ZMQ address such as tcp://*:5557";
    } else if (key == "replay_endpoint") {
      if (value.is_null()) c.replay_endpoint.clear();
      else if (!get_string(c.replay_endpoint)) return "replay_endpoint: a ZMQ address or null";
    } else if (key == "topic") {
      if (!get_string(c.topic)) return "topic: a string";
    } else if (key == "buffer_steps") {
      if (!get_uint(c.buffer_steps)) return "buffer_steps: a positive integer";
    } else if (key == "hwm") {
      if (!get_uint(c.hwm)) return "hwm: a positive integer";
    } else if (key == "max_queue_size") {
      if (!get_uint(c.max_queue_size)) return "max_queue_size: a positive integer";
    } else {
      return "unknown key '" + std::string(key) + "'";
    }
  }
  if (c.enable_kv_cache_events && !publisher_given) c.publisher = "zmq";
  out = std::move(c);
  return "";
}

// vLLM's KVTransferConfig as JSON. Keys vLLM has that the sim does not model are
// accepted (type-checked) and ignored; unknown keys are refused, as vLLM's config does.
std::string parse_kv_transfer_json(std::string_view text, KvTransferConfig& out) {
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  if (parser.parse(text.data(), text.size()).get(doc)) return "a JSON object";
  KvTransferConfig c;
  for (const simdjson::dom::key_value_pair entry : doc) {
    const std::string_view key = entry.key;
    const simdjson::dom::element value = entry.value;
    auto get_string = [&](std::string& field) -> bool {
      if (value.is_null()) return true;
      std::string_view v;
      if (value.get(v) || v.size() > 256) return false;
      field = v;
      return true;
    };
    std::string ignored;
    if (key == "kv_connector") {
      if (!get_string(c.kv_connector)) return "kv_connector: a string";
    } else if (key == "kv_role") {
      if (!get_string(c.kv_role)) return "kv_role: a string";
    } else if (key == "engine_id") {
      if (!get_string(c.engine_id)) return "engine_id: a string of at most 256 bytes";
    } else if (key == "kv_load_failure_policy") {
      if (!get_string(c.kv_load_failure_policy) ||
          (c.kv_load_failure_policy != "recompute" && c.kv_load_failure_policy != "fail"))
        return "kv_load_failure_policy: recompute or fail";
    } else if (key == "kv_buffer_device" || key == "kv_ip" || key == "kv_connector_module_path") {
      if (!get_string(ignored)) return std::string(key) + ": a string";
    } else if (key == "kv_buffer_size" || key == "kv_rank" || key == "kv_parallel_size" || key == "kv_port") {
      if (!value.is_null() && !value.is_number()) return std::string(key) + ": a number";
    } else if (key == "enable_permute_local_kv") {
      if (!value.is_bool()) return "enable_permute_local_kv: a boolean";
    } else if (key == "kv_connector_extra_config") {
      simdjson::dom::object extra;
      if (value.get(extra)) return "kv_connector_extra_config: an object";
      // num_cpu_blocks sizes the OffloadingConnector's CPU tier; other keys are the connector's own.
      for (const simdjson::dom::key_value_pair e : extra) {
        if (e.key != "num_cpu_blocks") continue;
        uint64_t n = 0;
        if (e.value.get(n) || n == 0 || n > kMaxCpuBlocks)
          return "kv_connector_extra_config.num_cpu_blocks: an integer 1-" + std::to_string(kMaxCpuBlocks);
        c.num_cpu_blocks = uint32_t(n);
      }
    } else {
      return "unknown key '" + std::string(key) + "'";
    }
  }
  if (c.kv_connector.empty()) return "kv_connector is required (NixlConnector or OffloadingConnector)";
  if (c.kv_connector == "OffloadingConnector") {
    if (c.num_cpu_blocks == 0) return "OffloadingConnector needs kv_connector_extra_config.num_cpu_blocks";
  } else if (c.kv_connector != "NixlConnector") {
    return "unsupported kv_connector '" + c.kv_connector + "' (NixlConnector and OffloadingConnector are simulated)";
  } else if (c.num_cpu_blocks != 0) {
    return "kv_connector_extra_config.num_cpu_blocks is the OffloadingConnector's";
  }
  if (c.kv_role != "kv_producer" && c.kv_role != "kv_consumer" && c.kv_role != "kv_both")
    return "kv_role must be kv_producer, kv_consumer or kv_both" +
           (c.kv_role.empty() ? std::string() : ", got '" + c.kv_role + "'");
  out = std::move(c);
  return "";
}

// Applies one "--flag value"; returns an error message or "".
std::string apply(SimOptions& o, std::string_view flag, std::string_view value) {
  auto bad = [&](const char* expected) {
    return std::string(flag) + ": expected " + expected + ", got '" + std::string(value) + "'";
  };
  constexpr uint32_t kMaxU32 = std::numeric_limits<uint32_t>::max();
  if (flag == "--host") {
    if (value.empty()) return bad("an address");
    o.host = value;
  } else if (flag == "--port") {
    if (!parse_uint<uint16_t>(value, o.port, 0, 65535)) return bad("a port 0-65535");
  } else if (flag == "--model") {
    if (value.empty()) return bad("a model name");
    o.model = value;
  } else if (flag == "--served-model-name") {
    if (value.empty()) return bad("a model name");
    o.served_model_names.emplace_back(value);
  } else if (flag == "--lora") {
    if (value.empty()) return bad("an adapter name");
    o.loras.push_back({std::string(value), std::string(value)});
  } else if (flag == "--lora-modules" && value.starts_with("{")) {
    LoraAdapter a;
    if (!parse_lora_json(value, a)) return bad("{\"name\": ..., \"path\": ...}");
    o.loras.push_back(std::move(a));
  } else if (flag == "--lora-modules") {
    auto eq = value.find('=');
    if (eq == 0 || eq == std::string_view::npos || eq + 1 == value.size()) return bad("name=path");
    o.loras.push_back({std::string(value.substr(0, eq)), std::string(value.substr(eq + 1))});
  } else if (flag == "--max-loras") {
    if (!parse_uint<uint32_t>(value, o.max_loras, 1, 1024)) return bad("an integer 1-1024");
  } else if (flag == "--max-num-seqs") {
    if (!parse_uint<uint32_t>(value, o.max_num_seqs, 1, 1u << 20)) return bad("a positive integer");
  } else if (flag == "--data-parallel-size") {
    if (!parse_uint<uint32_t>(value, o.data_parallel_size, 1, kMaxDataParallelSize)) return bad("an integer 1-64");
    o.data_parallel_size_given = true;
  } else if (flag == "--data-parallel-rank") {
    uint32_t rank = 0;
    if (!parse_uint<uint32_t>(value, rank, 0, kMaxDataParallelSize - 1)) return bad("a rank 0-63");
    o.data_parallel_rank = rank;
  } else if (flag == "--data-parallel-stats-interval-ms") {
    if (!parse_double(value, o.data_parallel_stats_interval_ms, 0, 60000)) return bad("milliseconds 0-60000");
  } else if (flag == "--response-id-bytes") {
    if (!parse_uint<uint32_t>(value, o.response_id_bytes, 37, 1024)) return bad("an integer 37-1024");
  } else if (flag == "--max-waiting") {
    if (!parse_uint<uint32_t>(value, o.max_waiting, 0, 1u << 24)) return bad("an integer >= 0");
  } else if (flag == "--block-size") {
    if (!parse_uint<uint32_t>(value, o.block_size, 1, 4096)) return bad("an integer 1-4096");
  } else if (flag == "--kv-blocks" || flag == "--kv-cache-size") {
    if (!parse_uint<uint32_t>(value, o.kv_blocks, 1, 1u << 24)) return bad("a positive integer");
  } else if (flag == "--max-model-len") {
    if (!parse_uint<uint32_t>(value, o.max_model_len, 1, kMaxU32 / 2)) return bad("a positive integer");
  } else if (flag == "--mode") {
    if (value == "echo") o.mode = OutputMode::echo;
    else if (value == "random") o.mode = OutputMode::random;
    else return bad("echo or random");
  } else if (flag == "--inter-token-latency-ms" || flag == "--inter-token-latency") {
    if (!parse_double(value, o.inter_token_latency_ms, 0, 3.6e6)) return bad("milliseconds >= 0");
  } else if (flag == "--prefill-overhead-ms" || flag == "--time-to-first-token") {
    if (!parse_double(value, o.prefill_overhead_ms, 0, 3.6e6)) return bad("milliseconds >= 0");
  } else if (flag == "--prefill-time-per-token-us") {
    if (!parse_double(value, o.prefill_time_per_token_us, 0, 3.6e9)) return bad("microseconds >= 0");
  } else if (flag == "--tokens-per-image") {
    if (!parse_uint<uint32_t>(value, o.media_tokens.image, 1, kMaxMediaTokens)) return bad("an integer 1-16384");
  } else if (flag == "--tokens-per-audio") {
    if (!parse_uint<uint32_t>(value, o.media_tokens.audio, 1, kMaxMediaTokens)) return bad("an integer 1-16384");
  } else if (flag == "--max-num-batched-tokens") {
    if (!parse_uint<uint32_t>(value, o.max_num_batched_tokens, 1, 1u << 24)) return bad("an integer 1-16777216");
  } else if (flag == "--speed") {
    if (!parse_double(value, o.speed, kMinSpeed, kMaxSpeed)) return bad("a factor 0.01-100 (0.4: 2.5x slower)");
  } else if (flag == "--speed-after") {
    const size_t colon = value.find(':');
    if (colon == std::string_view::npos || !parse_double(value.substr(0, colon), o.speed_change_after_s, 0.001, 86400) ||
        !parse_double(value.substr(colon + 1), o.speed_change_to, kMinSpeed, kMaxSpeed))
      return bad("S:F, seconds 0.001-86400 and a factor 0.01-100 (30:0.1: 10x slower from 30 s)");
  } else if (flag == "--kv-transfer-config") {
    if (auto err = parse_kv_transfer_json(value, o.kv_transfer); !err.empty()) return "--kv-transfer-config: " + err;
  } else if (flag == "--kv-transfer-time-per-block-us") {
    if (!parse_double(value, o.kv_transfer_time_per_block_us, 0, 3.6e9)) return bad("microseconds >= 0");
  } else if (flag == "--kv-offload-load-time-per-block-us") {
    if (!parse_double(value, o.kv_offload_load_time_per_block_us, 0, 3.6e9)) return bad("microseconds >= 0");
  } else if (flag == "--nixl-abort-request-timeout") {
    if (!parse_double(value, o.nixl_abort_request_timeout_s, 0, 86400 * 7)) return bad("seconds >= 0");
  } else if (flag == "--max-held-kv-transfers") {
    if (!parse_uint<uint32_t>(value, o.max_held_kv_transfers, 1, 1u << 20)) return bad("an integer 1-1048576");
  } else if (flag == "--kv-pull-timeout") {
    if (!parse_double(value, o.kv_pull_timeout_s, 0.001, 3600)) return bad("seconds 0.001-3600");
  } else if (flag == "--fail-rate") {
    if (!parse_double(value, o.fail_rate, 0, 1)) return bad("a fraction 0..1");
  } else if (flag == "--fail-mid-stream-rate") {
    if (!parse_double(value, o.fail_mid_stream_rate, 0, 1)) return bad("a fraction 0..1");
  } else if (flag == "--startup-delay") {
    if (!parse_double(value, o.startup_delay_s, 0, 86400)) return bad("seconds >= 0");
  } else if (flag == "--timeout-keep-alive") {
    if (!parse_double(value, o.timeout_keep_alive_s, 0, 86400)) return bad("seconds >= 0");
  } else if (flag == "--vllm-version") {
    if (value == "0.12" || value == "0.12.0") o.vllm_version = "0.12.0";
    else if (value == "0.10" || value == "0.10.2") o.vllm_version = "0.10.2";
    else return bad("0.10 or 0.12");
  } else if (flag == "--otlp-traces-endpoint") {
    if (!value.starts_with("http://")) return bad("an http:// URL");
    o.otlp_traces_endpoint = value;
  } else if (flag == "--kv-events-config") {
    if (auto err = parse_kv_events_json(value, o.kv_events); !err.empty()) return "--kv-events-config: " + err;
  } else if (flag == "--prefix-caching-hash-algo") {
    if (value != "sha256_cbor") return bad("sha256_cbor");
  } else if (flag == "--tokenizer") {
    if (value.empty() || value.size() > 4096) return bad("a directory holding tokenizer.json");
    o.tokenizer_dir = std::string(value);
  } else if (flag == "--fault-seed") {
    uint64_t seed = 0;
    if (!parse_uint<uint64_t>(value, seed, 0, std::numeric_limits<uint64_t>::max())) return bad("an integer");
    o.fault_seed = seed;
  } else if (flag == "--seed") {
    uint64_t seed = 0;
    if (!parse_uint<uint64_t>(value, seed, 0, std::numeric_limits<uint64_t>::max())) return bad("an integer");
    o.seed = seed;
  } else {
    return std::string("unknown option ") + std::string(flag);
  }
  return {};
}

std::string finish(SimOptions& o) {
  if (o.served_model_names.empty()) o.served_model_names.push_back(o.model);
  for (size_t i = 0; i < o.loras.size(); ++i) {
    for (const auto& base : o.served_model_names)
      if (o.loras[i].name == base) return "LoRA adapter '" + base + "' has the same name as the base model";
    for (size_t j = 0; j < i; ++j)
      if (o.loras[i].name == o.loras[j].name) return "LoRA adapter '" + o.loras[i].name + "' given twice";
  }
  if (o.data_parallel_rank && !o.data_parallel_size_given)
    return "--data-parallel-rank needs --data-parallel-size (the number of ranks)";
  if (o.data_parallel_rank && *o.data_parallel_rank >= o.data_parallel_size)
    return "--data-parallel-rank " + std::to_string(*o.data_parallel_rank) + " needs --data-parallel-size > " +
           std::to_string(*o.data_parallel_rank) + " (ranks are 0..size-1; size is " +
           std::to_string(o.data_parallel_size) + ")";
  uint64_t capacity = uint64_t(o.kv_blocks) * o.block_size;
  if (o.max_model_len == 0) {
    o.max_model_len = static_cast<uint32_t>(std::min<uint64_t>(2048, capacity));
  } else if (o.max_model_len > capacity) {
    // vLLM refuses to start when one sequence could never fit in the KV cache.
    return "--max-model-len " + std::to_string(o.max_model_len) +
           " is larger than the KV cache holds (kv-blocks * block-size = " + std::to_string(capacity) +
           " tokens)";
  }
  return {};
}

}  // namespace

ParsedOptions parse_options(const std::vector<std::string>& args) {
  for (const std::string& arg : args)
    if (arg == "-h" || arg == "--help") return HelpRequested{};
  SimOptions o;
  auto error = util::parse_flags(
      args, kFlags,
      [&](const util::FlagSpec& flag, std::string_view value) -> std::string {
        if (flag.name == "--legacy-gpu-cache-metric") {
          o.legacy_gpu_cache_metric = true;
          return {};
        }
        if (flag.name == "--enable-prompt-tokens-details") {
          o.enable_prompt_tokens_details = true;
          return {};
        }
        if (flag.name == "--fail-kv-pulls") {
          o.fail_kv_pulls = true;
          return {};
        }
        if (flag.name == "--enable-force-include-usage") {
          o.enable_force_include_usage = true;
          return {};
        }
        if (flag.name == "--enable-responses-store") {
          o.enable_responses_store = true;
          return {};
        }
        return apply(o, flag.name, value);
      },
      util::FlagParseRules{.value_may_start_with_dashes = false});
  if (error) {
    switch (error->kind) {
      case util::FlagErrorKind::NotAFlag:
        return OptionsError{"unexpected argument '" + error->flag + "'"};
      case util::FlagErrorKind::UnknownFlag:
        return OptionsError{"unknown option " + error->flag + " (see --help)"};
      case util::FlagErrorKind::MissingValue:
        return OptionsError{error->flag + " needs a value"};
      case util::FlagErrorKind::UnexpectedValue:
        return OptionsError{error->flag + " takes no value"};
      case util::FlagErrorKind::BadValue:
        return OptionsError{error->detail};
    }
  }
  if (auto err = finish(o); !err.empty()) return OptionsError{err};
  return o;
}

std::string options_help() {
  return "usage: ringgate-sim [options]\n"
         "A vLLM simulator: vLLM's OpenAI API, metrics and latency shape, no GPU.\n\n" +
         util::flag_help(kFlags);
}

}  // namespace ringgate::sim
