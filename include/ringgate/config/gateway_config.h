#pragma once
// `kind: Gateway` (apiVersion ringgate.io/v1): ringgate's own settings.
// Every field is optional. What the file set is recorded in set_by_file, and only
// that is applied (gateway/settings.cpp): the runtime option structs
// (proxy::ProxyOptions, control::PoolOptions, sched::SchedulerConfig,
// proxy::PassiveHealthOptions) hold THE defaults. The initialisers below mirror them
// only so range checks between two fields (ejectBase <= ejectMax, ...) and
// --check-config see the value that will run; tests/gateway/settings_defaults_test.cpp
// fails if they drift apart.

#include <chrono>
#include <memory>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ringgate/config/host_port.h"
#include "ringgate/openai/hf_prompt_tokenizer.h"
#include "ringgate/sched/context_length_range.h"
#include "ringgate/sched/endpoint_role.h"
#include "ringgate/sched/scheduler_config.h"
#include "ringgate/sched/scorer_registry.h"
#include "ringgate/sched/session_keys.h"

namespace ringgate::config {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

inline constexpr std::string_view gateway_api_version = "ringgate.io/v1";
inline constexpr std::string_view gateway_kind = "Gateway";

// listen.tls: HTTPS on the API listener (the files reload when they change).
struct TlsListenConfig {
  std::string cert_file;       // certFile: PEM chain, the leaf first
  std::string key_file;        // keyFile: PEM private key
  std::string client_ca_file;  // clientCAFile (optional): require client certificates these CAs issued
  nanoseconds handshake_timeout = seconds(10);  // handshakeTimeout
};

// listen.http2 (the defaults are http::H2Limits', as SGLang's gateway chose for token streams).
struct Http2ListenConfig {
  bool enabled = true;
  uint32_t max_concurrent_streams = 100;
  uint64_t stream_window_bytes = 2u << 20;
  uint64_t connection_window_bytes = 16u << 20;
  uint32_t max_resets_per_second = 100;
  uint32_t max_continuation_frames = 32;
  uint32_t max_control_frames_per_second = 100;
};

struct ListenConfig {
  HostPort api{"", 8080};
  std::optional<TlsListenConfig> tls;
  Http2ListenConfig http2;
  HostPort admin{"", 9090};
  HostPort epp{"", 9002};         // EPP mode: ext-proc gRPC ("epp")
  HostPort epp_health{"", 9003};  // EPP mode: grpc.health.v1 ("eppHealth")
};

inline constexpr std::string_view kInferencePoolGroup = "inference.networking.k8s.io";
inline constexpr std::string_view kInferencePoolGroupX = "inference.networking.x-k8s.io";

// Kubernetes discovery: the EndpointSlices of one Service, or (as GAIE's EPP does) the
// pods an InferencePool selects.
struct KubernetesDiscovery {
  std::string namespace_name;  // empty = the namespace the gateway pod runs in
  std::string service;         // EndpointSlice discovery (with a port)
  // InferencePool discovery ("inferencePool"): watch this inference.networking.k8s.io/v1
  // InferencePool and the pods its spec.selector selects, at its targetPorts. Exactly one
  // of service / inference_pool is set.
  std::string inference_pool;
  // Its API group ("inferencePoolGroup"): inference.networking.k8s.io (v1) or, for older
  // GAIE installs, inference.networking.x-k8s.io (v1alpha2); the Go EPP's --pool-group.
  std::string inference_pool_group = std::string(kInferencePoolGroup);
  // Also watch InferenceModelRewrite / InferenceObjective objects of the pool
  // ("watchRules"); absent = on with inferencePool, off with service.
  std::optional<bool> watch_rules;
  // The Service port to route to: by name (port_name non-empty) or by number.
  std::string port_name;
  uint16_t port_number = 0;
  // Plain-HTTP API server URL (e.g. "http://127.0.0.1:8001" from `kubectl proxy`);
  // empty = in-cluster service-account auth over TLS.
  std::string api_server;
};

// One entry of pool.discovery.static: "host:port" (role both) or {address, role}.
struct StaticEndpoint {
  HostPort address;
  sched::EndpointRole role = sched::EndpointRole::Both;  // "role": prefill | decode | both
  // Data parallelism (control::DesiredEndpoint): "targetPorts", one rank per port on the
  // address's host (address's port first), or "dataParallelSize", ranks behind address's
  // one port (0: learnt from its /metrics).
  std::vector<uint16_t> target_ports = {};
  uint32_t data_parallel_size = 0;
  // "contextLengthRange": "min-max" tokens (llm-d's llm-d.ai/context-length-range); None: any.
  sched::ContextLengthRange context_range = {};
  // "kind: gateway": a leaf ringgate, read at `admin` (its /debug/load) with the key in
  // `admin_key_file`; "priority": its locality level (0 = local).
  bool gateway = false;
  std::optional<HostPort> admin = {};
  std::string admin_key_file = {};
  uint32_t priority = 0;

  friend bool operator==(const StaticEndpoint&, const StaticEndpoint&) = default;
};

struct PoolConfig {
  std::string name = "vllm";
  // Exactly one of these is used: static_endpoints non-empty, or kubernetes set.
  std::vector<StaticEndpoint> static_endpoints;
  std::optional<KubernetesDiscovery> kubernetes;
  // pool.discovery.resolveInterval: static host names resolved again this often.
  std::chrono::nanoseconds resolve_interval = std::chrono::seconds(30);
};

// Cache affinity must not create a hotspot: an endpoint whose load (waiting + in
// flight) exceeds the least-loaded candidate's by more than
// max((ratio − 1) × mean load, min_load) loses its prefix / placement / session bonus.
struct LoadGuardConfig {
  bool enabled = true;
  double ratio = 2.0;     // YAML "ratio", > 1
  uint32_t min_load = 8;  // YAML "minLoad": the smallest gap, in requests, that trips the guard
};

// The prefix scorer's source (YAML scheduler.scorers.prefix as a map: {weight, mode,
// tokenizer, blockSize, hashSeed}). "precise" scores endpoints by the vLLM block
// hashes their KV-cache events announced (kvEvents), hashing the prompt the same way;
// endpoints without a trusted event stream are scored by the approximate index.
struct PrefixScorerConfig {
  std::string mode = "approximate";  // or "precise"
  // How prompts become token ids: "sim-bytes" (ringgate-sim's 4-bytes rule) or a
  // directory holding the model's tokenizer.json (+ tokenizer_config.json for chat).
  std::string tokenizer = "sim-bytes";
  // YAML "maxTokenizeBytes": only this much of a prompt's text is tokenized.
  uint64_t max_tokenize_bytes = openai::kDefaultMaxTokenizeBytes;
  // YAML "tokenCacheBytes": token ids of prompt texts kept for their next request (0: none).
  uint64_t token_cache_bytes = openai::kDefaultTokenCacheBytes;
  // Loaded once with the config when `tokenizer` names a directory (null for sim-bytes).
  std::shared_ptr<openai::HfPromptTokenizer> hf_tokenizer;
  uint32_t block_size = 16;             // the servers' --block-size
  std::string hash_seed = "0";          // the servers' PYTHONHASHSEED
  sched::TierWeights tier_weights;      // YAML "tierWeights": the defaults, keys given overriding
  double stand_down_share = 0.25;       // YAML "standDownShare" (sched::SchedulerConfig)
};

// Where each endpoint's KV-cache events are (YAML "kvEvents"): the endpoint's host
// and `port` (vLLM's default tcp://*:5557), or an explicit address per endpoint.
struct KvEventsEndpoint {
  HostPort endpoint;      // the pool endpoint (host:port of its API)
  std::string address;    // tcp://host:port of its PUB socket
  std::string replay;     // tcp://host:port of its replay ROUTER, or ""
};
struct KvEventsConfig {
  uint16_t port = 5557;
  uint16_t replay_port = 0;  // 0: no replay socket
  std::string topic;         // subscription prefix ("" = every topic)
  uint64_t max_blocks_per_endpoint = uint64_t(1) << 18;
  std::vector<KvEventsEndpoint> endpoints;
};

// YAML "scheduler.loadSignal": where the load part of a decision comes from (see
// sched::LoadSignal). mode "" = by the prefix mode: "shared" in precise mode (several
// replicas then agree), "local" in approximate mode.
struct LoadSignalConfig {
  std::string mode;       // "", "local" or "shared"
  double step = 4;        // shared: requests a load step (1..1e6)
  double kv_step = 0.25;  // shared: KV-usage step (0.01..1)
  bool noise_band = true;  // local: the queue score's noise band (sched::SchedulerConfig::local_noise_band)
};

struct SchedulerConfig {
  // YAML scheduler.scorers: weight by scorer slot (sched::kScorers; keys are the scorers'
  // names). A key the file leaves out keeps its default (sched::default_scorer_weights).
  sched::ScorerWeights scorers = sched::default_scorer_weights();
  // YAML scheduler.filters: which filters run (sched::kFilters; a key the file leaves out
  // keeps its default, sched::default_filter_switches) and the parameters of the filters
  // and scorers that have some beyond a weight (their defaults are sched's own: the same types).
  sched::FilterSwitches filters = sched::default_filter_switches();
  sched::PrefixAffinityConfig prefix_affinity;
  sched::TokenLoadConfig token_load;
  sched::ActiveRequestConfig active_request;
  sched::NoHitLruConfig no_hit_lru;
  LoadSignalConfig load_signal;
  PrefixScorerConfig prefix;
  uint32_t prefix_block_bytes = 64;        // 16 tokens × 4 chars, as llm-d
  uint64_t prefix_index_memory_bytes = 0;  // YAML "prefixIndexMemoryBytes" (1 MiB..1 TiB); default: sched
  uint32_t tokens_per_image = 576;         // YAML "tokensPerImage" (sched::MediaWeights)
  uint32_t tokens_per_audio = 750;         // YAML "tokensPerAudio"
  LoadGuardConfig load_guard;
  std::string session_header = "x-session-id";  // empty = no session affinity hint
  // YAML sessionKeys: which keys pin a conversation, in order (body fields and "header").
  sched::SessionKeyOrder session_keys;
  std::string headroom_strategy = "least";      // YAML headroomSelectionStrategy: least (llm-d's default) or most
  nanoseconds metrics_stale_after = seconds(2);
};

struct LimitsConfig {
  uint64_t max_header_bytes = 16 * 1024;         // 431 above
  uint64_t max_body_bytes = 8ull * 1024 * 1024;  // 413 above
};

struct TimeoutsConfig {
  nanoseconds header_read = seconds(10);  // client must send the whole head within this (408)
  nanoseconds client_idle = seconds(60);  // idle keep-alive client connection closed after
  nanoseconds upstream_connect = seconds(3);
  nanoseconds upstream_first_byte = seconds(300);  // non-streamed answers arrive whole: keep it long
  nanoseconds upstream_idle = seconds(4);          // pooled upstream connection idle limit; < vLLM's 5 s
  nanoseconds upstream_read_idle = seconds(120);   // between bytes of a response, once its head arrived
  nanoseconds client_write = seconds(60);          // a client taking no response bytes this long is closed
  nanoseconds request = seconds(600);              // whole request; 0 = no limit
  nanoseconds drain = seconds(10);                 // graceful shutdown budget
};

struct MetricsConfig {
  nanoseconds poll_interval = milliseconds(50);
  nanoseconds scrape_timeout = seconds(1);
  // EPP name sets on the admin /metrics: "both", "gaie" (inference_*) or "llm-d" (llm_d_epp_*).
  std::string names = "both";
  uint32_t max_label_values = 0;  // as the file sets it (the default: proxy::ProxyOptions)
};

struct HealthConfig {
  uint32_t eject_after_failures = 3;    // consecutive failures before passive ejection
  nanoseconds eject_base = seconds(1);  // first ejection length, doubled per repeat
  nanoseconds eject_max = seconds(30);  // cap on the ejection length
};

struct RetriesConfig {
  uint32_t budget = 2;                // extra attempts on other endpoints, before the first byte only
  nanoseconds deadline = seconds(5);  // no new attempt starts after this since the request arrived
};

// migration: a stream whose server breaks after bytes reached the client continues on
// another (the request with the text so far appended; see proxy::MigrationOptions).
struct MigrationConfig {
  bool enabled = true;
  nanoseconds stall_timeout = seconds(30);  // a stream silent this long counts as broken
  uint32_t max_per_request = 2;             // continuations of one request
  uint32_t max_tokens = 8192;               // longest generated text carried into a continuation
};

// hedging: a tight-SLO stream also goes to the next-best server (see proxy::HedgingOptions).
struct HedgingConfig {
  bool enabled = false;
  double max_extra_load = 0.05;  // hedges per request, at most
  double headroom = 0.2;         // hedge below this predicted TTFT headroom (a fraction of the objective)
};

// disaggregation: prefill/decode split of long prompts (see proxy::DisaggregationOptions).
struct DisaggregationConfig {
  std::optional<bool> enabled;                // unset: on when the pool has a prefill endpoint
  uint32_t non_cached_tokens = 512;           // "nonCachedTokens" (0..1,000,000; 0 = never split)
  nanoseconds prefill_timeout = seconds(30);  // "prefillTimeout" (1ms..1h)
};

struct IoConfig {
  std::string backend = "auto";  // auto | io_uring | epoll (auto: epoll when io_uring is refused)
};

// tracing: OpenTelemetry traces (see control::OtlpExporterOptions, proxy::TracingOptions).
struct TracingConfig {
  std::string endpoint;  // empty: off (unless OTEL_EXPORTER_OTLP_ENDPOINT says)
  double sample_ratio = 1.0;
  std::string service_name = "ringgate";
  std::vector<std::pair<std::string, std::string>> headers;
  nanoseconds timeout = seconds(10);
  uint32_t max_queue_spans = 2048;
};

// scaleFromZero: the wake hook (control::WakeHookOptions).
struct ScaleFromZeroConfig {
  std::string wake_url;                     // "wakeUrl": http://host[:port][/path]; empty: no hook
  nanoseconds wake_interval = seconds(10);  // "wakeInterval" (100ms..1h): per model
};

struct AccessLogConfig {
  bool enabled = false;
  std::string path = "-";  // "-" = standard output
};

// GAIE's saturation detector (saturationDetector: {queueDepthThreshold,
// kvCacheUtilThreshold, metricsStalenessThreshold}), GAIE's defaults.
struct SaturationDetectorConfig {
  uint32_t queue_depth_threshold = 5;
  double kv_cache_util_threshold = 0.8;
  nanoseconds metrics_staleness_threshold = milliseconds(200);
  uint32_t max_concurrency = 0;  // GAIE's concurrency-detector maxConcurrency; 0 = off
  uint32_t sheddable_headroom = 0;  // slots of maxConcurrency sheddable requests leave free
};

// One priority band's bounds (GAIE's PriorityBandConfig: priority, maxBytes; plus maxRequests).
struct PriorityBandConfig {
  int32_t priority = 0;
  uint64_t max_bytes = 1'000'000'000;  // GAIE's default band capacity (1 GB)
  uint64_t max_requests = 1000;
};

// flowControl: requests wait in the gateway while every candidate is saturated.
// Off unless enabled (GAIE gates it behind a feature flag too).
struct FlowControlConfig {
  bool enabled = false;
  uint64_t max_bytes = 0;                         // all bands together; 0 = no global limit (GAIE's maxBytes)
  uint64_t max_requests = 0;                      // all bands together; 0 = no global limit
  nanoseconds default_request_ttl = seconds(30);  // queued longer: 503 (429 when sheddable)
  // Held for a model with no ready server longer: 503 rejected-no-endpoints; 0 = not held.
  // Applies whether or not `enabled` is set.
  nanoseconds no_endpoint_request_ttl = std::chrono::minutes(5);
  PriorityBandConfig default_band;                // defaultPriorityBand: bands not listed
  std::vector<PriorityBandConfig> priority_bands;
};

// rateLimits: per-tenant token and request budgets per minute (0 = no limit).
struct RateLimitConfig {
  std::string tenant_header = "x-gateway-inference-fairness-id";
  uint64_t tokens_per_minute = 0;
  uint64_t requests_per_minute = 0;
  uint32_t max_tenants = 10000;  // tenants tracked at once; later ones share one overflow budget
};

// auth: API keys on the API listener (config/api_keys_file.h); admin.auth: on the admin
// listener too (keys with admin: true; /healthz and /readyz stay open for probes).
struct AuthConfig {
  std::string api_keys_file;  // empty: no auth
};
struct AdminConfig {
  bool auth = false;
};

// hub: a gateway over gateways.
struct HubConfig {
  uint32_t max_hops = 2;  // "maxHops"
};

// sharedState: replicas share load (and, later, rate-limit budgets) through Redis.
struct RedisConfig {
  HostPort address;           // "address": HOST:PORT
  std::string password_file;  // "passwordFile": AUTH with this file's first line
};
struct SharedStateConfig {
  std::optional<RedisConfig> redis;          // absent: no shared state
  nanoseconds sync_interval = milliseconds(20);  // "syncInterval" (5ms..10s)
};

// responses: the bounds of the Responses API id table (proxy::ResponseTableLimits holds
// the defaults; 0 = not set here).
struct ResponsesConfig {
  uint64_t max_entries = 0;  // "maxEntries" (1..1e8)
  uint64_t max_bytes = 0;    // "maxBytes" (1Ki..1Ti)
};

struct GatewayConfig {
  ListenConfig listen;
  uint32_t workers = 0;          // 0 = one per core
  std::string mode = "gateway";  // "gateway" (proxy on listen.api) or "epp" (ext-proc Endpoint Picker)
  PoolConfig pool;
  SchedulerConfig scheduler;
  KvEventsConfig kv_events;
  LimitsConfig limits;
  TimeoutsConfig timeouts;
  MetricsConfig metrics;
  HealthConfig health;
  RetriesConfig retries;
  MigrationConfig migration;
  DisaggregationConfig disaggregation;
  HedgingConfig hedging;
  AccessLogConfig access_log;
  TracingConfig tracing;
  ScaleFromZeroConfig scale_from_zero;
  IoConfig io;
  SaturationDetectorConfig saturation_detector;
  FlowControlConfig flow_control;
  RateLimitConfig rate_limits;
  AuthConfig auth;
  AdminConfig admin;
  HubConfig hub;
  SharedStateConfig shared_state;
  ResponsesConfig responses;

  // Dotted YAML paths of the leaves the file set explicitly, sorted, e.g.
  // "listen.api", "scheduler.scorers.kv-cache", "timeouts.request",
  // "pool.discovery.static". Lets the caller apply: defaults < file < flags.
  std::vector<std::string> set_by_file;

  // True if the file set `path` or anything below it ("timeouts" matches "timeouts.request").
  bool file_sets(std::string_view path) const;
};

}  // namespace ringgate::config
