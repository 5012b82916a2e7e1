#pragma once
// The Gateway document's schema as data: each map of `kind: Gateway`, its fields, and what
// each field is (type, default, range, whether a reload applies it, the flag that sets it,
// what it does). The reader (src/config/gateway_document.cpp, config_loader.cpp) takes every
// map's keys from here, so a field is readable only once it is listed here; the tests
// enumerate the list (tests/config/example_schema_test.cpp: every field must be shown in
// deploy/examples/ringgate.yaml; tests/docs/reference_docs_test.cpp: every field has a
// description and an entry in docs/reference/configuration.md, which
// `ninja -C build reference-docs` writes from this file).

#include <array>
#include <cstddef>
#include <span>
#include <string_view>

#include "ringgate/sched/scorer_registry.h"

namespace ringgate::config::gateway_schema {

using Keys = std::span<const std::string_view>;

// Whether a running gateway applies a changed value on reload (SIGHUP or the file
// changing: src/gateway/main.cpp reload()), or only on restart.
enum class Reload { Restart, Live };
inline constexpr Reload kRestart = Reload::Restart;
inline constexpr Reload kLive = Reload::Live;

struct Field {
  std::string_view name;
  std::string_view type;           // int, number, bool, string, duration, byte size, host:port, map, list, ...
  std::string_view default_value;  // "" = unset (see the description)
  std::string_view range;          // accepted values; "" = any of the type
  Reload reload = kRestart;
  std::string_view flag;           // the ringgate flag that sets it too (flags beat the file); "" = none
  std::string_view description;    // what it does; required (the reference test asks)
};

template <size_t N>
constexpr std::array<std::string_view, N> names_of(const Field (&fields)[N]) {
  std::array<std::string_view, N> names{};
  for (size_t i = 0; i < N; ++i) names[i] = fields[i].name;
  return names;
}

// clang-format off
inline constexpr Field kRootFields[] = {
    {"apiVersion", "string", "ringgate.io/v1", "ringgate.io/v1", kRestart, "", "The document's API version."},
    {"kind", "string", "Gateway", "Gateway", kRestart, "", "The document's kind: `Gateway`."},
    {"metadata", "ObjectMeta", "", "", kRestart, "", "Kubernetes object metadata (`name`, ...); informational."},
    {"listen", "map", "", "", kRestart, "",
     "The listeners: OpenAI API, admin, and in EPP mode ext-proc and its health port."},
    {"workers", "int", "0", "0..1024", kRestart, "--workers", "Worker threads; 0 = one per core."},
    {"pool", "map", "", "", kRestart, "", "The model servers: a name and how they are discovered."},
    {"scheduler", "map", "", "", kRestart, "",
     "How an endpoint is picked: scorer weights, prefix hashing, load guard, load signal."},
    {"kvEvents", "map", "", "", kRestart, "",
     "Precise prefix mode: where each server publishes its vLLM KV-cache events (ZMQ PUB); unused otherwise."},
    {"limits", "map", "", "", kRestart, "", "Request size limits."},
    {"timeouts", "map", "", "", kRestart, "",
     "Client and upstream timeouts (Go-style durations: 500ms, 5s, 1m30s, 1h)."},
    {"metrics", "map", "", "", kRestart, "",
     "Scraping the servers' /metrics, and the EPP metric names exposed on the admin /metrics."},
    {"health", "map", "", "", kRestart, "", "Passive health: ejecting an endpoint after consecutive failures."},
    {"retries", "map", "", "", kRestart, "", "Retries on other endpoints before the first response byte."},
    {"accessLog", "map", "", "", kRestart, "", "One JSON line per request."},
    {"io", "map", "", "", kRestart, "", "The event loop backend."},
    {"saturationDetector", "map", "", "", kLive, "",
     "When a server counts as saturated (GAIE's names and defaults): used by flow control and to answer sheddable "
     "requests 429."},
    {"flowControl", "map", "", "", kLive, "",
     "Requests wait in the gateway while every candidate is saturated, highest priority band first, fair between "
     "flows."},
    {"rateLimits", "map", "", "", kLive, "",
     "Per-tenant budgets per minute; every answer carries x-ratelimit-* headers."},
    {"migration", "map", "", "", kRestart, "", "A stream whose server breaks mid-way continues on another server."},
    {"disaggregation", "map", "", "", kRestart, "",
     "Prefill/decode split: a prompt with enough tokens its decode server does not hold is prefilled on a `prefill` "
     "server first."},
    {"mode", "string", "gateway", "gateway, epp", kRestart, "--mode",
     "gateway: proxy on listen.api; epp: GAIE Endpoint Picker over Envoy ext-proc gRPC (docs/epp-mode.md)."},
    {"auth", "map", "", "", kRestart, "", "API keys on the api listener (leave out: no key needed)."},
    {"admin", "map", "", "", kRestart, "", "The admin listener's own settings."},
    {"responses", "map", "", "", kLive, "",
     "The Responses API ids the gateway remembers (which server holds each response, for previous_response_id and "
     "/v1/responses/{id}): its bounds."},
    {"sharedState", "map", "", "", kRestart, "",
     "Replicas share their load, budgets and placements through Redis and pick as one (leave out: each alone)."},
    {"hedging", "map", "", "", kRestart, "",
     "Hedged prefill: a streamed request with a TTFT objective whose pick has little to spare also goes to the "
     "next-best server; the first to stream a token is kept."},
    {"tracing", "map", "", "", kRestart, "",
     "OpenTelemetry traces over OTLP/HTTP (protobuf): a span for each request, its admission, each pick and each "
     "upstream attempt; W3C traceparent continued and sent to the model servers. Off unless an endpoint is set here "
     "or by OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT; OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER(_ARG) and "
     "OTEL_EXPORTER_OTLP_(TRACES_)HEADERS apply where the file sets nothing."},
    {"scaleFromZero", "map", "", "", kRestart, "",
     "A pool scaled to zero: a hook told while requests wait for a model with no ready server "
     "(the holding itself is flowControl.noEndpointRequestTTL's)."},
    {"hub", "map", "", "", kRestart, "",
     "A hub over leaf gateways (pool entries of kind `gateway`, docs/multi-cluster.md): loop refusal."},
};
inline constexpr Field kListenFields[] = {
    {"api", "host:port", ":8080", "", kRestart, "--listen", "OpenAI API listener; empty host = all interfaces."},
    {"admin", "host:port", ":9090", "", kRestart, "--admin, --metrics-port",
     "Admin listener: /metrics, /healthz, /readyz, /debug/*, the status page. Must differ from api."},
    {"epp", "host:port", ":9002", "", kRestart, "--epp-listen, --grpc-port",
     "EPP mode: envoy.service.ext_proc.v3.ExternalProcessor (and grpc.health.v1)."},
    {"eppHealth", "host:port", ":9003", "", kRestart, "--epp-health-listen, --grpc-health-port",
     "EPP mode: grpc.health.v1 only, for probes."},
    {"tls", "map", "", "", kRestart, "",
     "HTTPS on the api listener (leave out for plain HTTP). The files reload when they change; connections keep the "
     "certificate they began with."},
    {"http2", "map", "", "", kRestart, "",
     "HTTP/2 on the api listener: h2c by prior knowledge beside HTTP/1.1 on the same port, h2 by ALPN under TLS "
     "(no h2c Upgrade). Each stream is one request, as an HTTP/1.1 request is."},
};
inline constexpr Field kListenHttp2Fields[] = {
    {"enabled", "bool", "true", "", kRestart, "",
     "Serve HTTP/2 (false: HTTP/1.1 only, and ALPN offers http/1.1 only)."},
    {"maxConcurrentStreams", "int", "100", "1..10000", kRestart, "",
     "Streams a connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); one more is refused "
     "(REFUSED_STREAM) before the client acknowledged the setting, a connection error (GOAWAY) after."},
    {"streamWindowBytes", "byte size", "2Mi", "64Ki..1Gi", kRestart, "",
     "What a client may send on one stream ahead of the gateway (SETTINGS_INITIAL_WINDOW_SIZE)."},
    {"connectionWindowBytes", "byte size", "16Mi", "64Ki..1Gi", kRestart, "",
     "What a client may send on the connection ahead of the gateway."},
    {"maxResetsPerSecond", "int", "100", "1..1000000", kRestart, "",
     "RST_STREAM frames a client may send in one second (Rapid Reset, CVE-2023-44487); beyond, GOAWAY "
     "ENHANCE_YOUR_CALM and the connection closes."},
    {"maxContinuationFrames", "int", "32", "1..1024", kRestart, "",
     "CONTINUATION frames per header block (CVE-2024-27316); beyond, GOAWAY ENHANCE_YOUR_CALM and close."},
    {"maxControlFramesPerSecond", "int", "100", "1..1000000", kRestart, "",
     "SETTINGS and PING frames a client may send in one second; beyond, GOAWAY ENHANCE_YOUR_CALM and close."},
};
inline constexpr Field kListenTlsFields[] = {
    {"certFile", "path", "", "", kRestart, "--tls-cert",
     "PEM certificate chain, the leaf first; reloaded when it changes (with keyFile)."},
    {"keyFile", "path", "", "", kRestart, "--tls-key", "The certificate's PEM private key; reloaded when it changes."},
    {"clientCAFile", "path", "", "", kRestart, "", "Optional: clients must present a certificate these CAs issued."},
    {"handshakeTimeout", "duration", "10s", "10ms..1m", kRestart, "",
     "A handshake not done by then (or past 128 KiB) is closed."},
};
inline constexpr Field kAuthFields[] = {
    {"apiKeysFile", "path", "", "", kRestart, "",
     "`kind: ApiKeys` file: key SHA-256 -> tenant, model globs, budgets, admin (deploy/examples/api-keys/keys.yaml). "
     "Its content reloads when it changes; which file, on restart."},
};
inline constexpr Field kHubFields[] = {
    {"maxHops", "int", "2", "0..16", kRestart, "",
     "Each gateway adds 1 to a forwarded request's x-ringgate-hops header; a request arriving with more hops than "
     "this is answered 508 (loop_detected) and goes nowhere: a hub pointed at itself, or hubs in a cycle."},
};
inline constexpr Field kAdminFields[] = {
    {"auth", "bool", "false", "", kRestart, "",
     "true: the admin port wants an API key marked `admin: true` (/healthz and /readyz stay open)."},
};
inline constexpr Field kResponsesFields[] = {
    {"maxEntries", "int", "100000", "1..100000000", kLive, "",
     "Response ids remembered at most; beyond, the least recently used is forgotten (a request naming it is routed as "
     "an unknown one). Shown by ringgate_responses_table_entries and ringgate_responses_table_evictions_total."},
    {"maxBytes", "byte size", "64Mi", "1Ki..1Ti", kLive, "",
     "Memory the remembered ids may take, counted as the resident memory each entry costs (464 bytes for a 256-byte "
     "id, 190 for vLLM's 37-byte ones); beyond, the least recently used is forgotten. Shown by "
     "ringgate_responses_table_bytes."},
};
inline constexpr Field kSharedStateFields[] = {
    {"redis", "map", "", "", kRestart, "", "The Redis server replicas share state through."},
    {"syncInterval", "duration", "20ms", "5ms..10s", kRestart, "",
     "Each replica writes its in-flight counts and placements and reads the others' this often."},
};
inline constexpr Field kSharedStateRedisFields[] = {
    {"address", "host:port", "", "", kRestart, "--redis",
     "Required in `redis`: an IP or /etc/hosts name, resolved on the control thread."},
    {"passwordFile", "path", "", "", kRestart, "", "Optional: AUTH with its first line, re-read on each reconnect."},
};
inline constexpr Field kPoolFields[] = {
    {"name", "string", "vllm", "", kRestart, "",
     "The pool's name: what InferenceModelRewrite / InferenceObjective poolRef.name refer to, and the `name` label of "
     "inference_pool_* metrics."},
    {"discovery", "map", "", "", kRestart, "", "Either `static` or `kubernetes`."},
};
inline constexpr Field kDiscoveryFields[] = {
    {"static", "list", "", "", kLive, "--endpoint",
     "A fixed list of servers: \"host:port\" (role both) or {address, role}. Reloads without dropping a request."},
    {"resolveInterval", "duration", "30s", "1s..1h", kLive, "",
     "How often a static entry's host name (and a leaf's admin name) is resolved again, off the data path; every "
     "address it resolves to is an endpoint (at most 64 per name), one that leaves the answer drains "
     "(docs/multi-cluster.md#static-entries-by-name)."},
    {"kubernetes", "map", "", "", kRestart, "",
     "A Service watched through its EndpointSlices, or a GAIE InferencePool and the pods its selector picks."},
};
inline constexpr Field kStaticEndpointFields[] = {
    {"address", "host:port", "", "", kLive, "", "The server's API address."},
    {"role", "string", "both", "prefill, decode, both", kLive, "",
     "Its prefill/decode disaggregation role (llm-d's pod label llm-d.ai/role)."},
    {"targetPorts", "list of int", "", "1..8 distinct ports, the first = address's port", kLive,
     "--endpoint HOST:PORT,PORT,...",
     "One data-parallel rank per port on address's host (vLLM's external load balancing), rank = position; as an "
     "InferencePool's spec.targetPorts. Excludes `dataParallelSize`."},
    {"dataParallelSize", "int", "learnt", "1..64", kLive, "",
     "Data-parallel ranks behind address's one port (vLLM's internal load balancing): each is scheduled on its own "
     "engine's metrics and named in X-data-parallel-rank. Unset: learnt from the `engine` labels of its /metrics. "
     "Excludes `targetPorts`."},
    {"contextLengthRange", "string", "", "\"min-max\" tokens, both included, 0..10^9", kLive, "",
     "The prompt lengths it is deployed for (llm-d's pod label llm-d.ai/context-length-range): what the "
     "context-length scorer and filter read. Unset: any length."},
    {"kind", "string", "server", "server, gateway", kLive, "",
     "server: a model server. gateway: another ringgate (a leaf cluster), scheduled on the load summary of its "
     "admin port's /debug/load (docs/multi-cluster.md); needs `admin`."},
    {"admin", "host:port", "", "", kLive, "",
     "kind gateway: the leaf's admin address, where its load summary is read."},
    {"adminKeyFile", "path", "", "", kLive, "",
     "kind gateway: a file holding an API key the leaf's keys file marks `admin: true`, sent as Authorization: "
     "Bearer when its summary is read (leave out when the leaf's admin port wants no key)."},
    {"priority", "int", "0", "0..255", kLive, "",
     "Locality: 0 = local. Requests stay on the lowest priority level that has an unsaturated endpoint serving the "
     "model, and overflow to the next level only when all of its endpoints are saturated (Envoy's priority "
     "levels)."},
};
inline constexpr Field kKubernetesFields[] = {
    {"namespace", "string", "", "", kRestart, "--pool-namespace",
     "Namespace of the Service or InferencePool; default: the gateway pod's own."},
    {"service", "string", "", "", kRestart, "",
     "A Service, watched through its EndpointSlices (requires `port`; excludes `inferencePool`)."},
    {"port", "string or int", "", "1..65535 or a port name", kRestart, "",
     "With `service`: the Service port's name or number."},
    {"inferencePool", "string", "", "", kRestart, "--pool-name",
     "A GAIE InferencePool: its pods are the pool, on each of its spec.targetPorts (1..8; several: one data-parallel "
     "rank each, in order; a pod's annotation data-parallel.ringgate.io/size declares ranks behind one port). "
     "Excludes `service`."},
    {"inferencePoolGroup", "string", "inference.networking.k8s.io",
     "inference.networking.k8s.io (v1), inference.networking.x-k8s.io (v1alpha2)", kRestart, "--pool-group",
     "The InferencePool's API group."},
    {"watchRules", "bool", "false with a service, true with an inferencePool", "", kRestart, "",
     "Also watch InferenceModelRewrite / InferenceObjective objects in the namespace."},
    {"apiServer", "URL", "", "", kRestart, "",
     "A plain-HTTP API server (such as `kubectl proxy`); default: in-cluster service-account auth over TLS."},
};
inline constexpr Field kSchedulerFields[] = {
    {"scorers", "map", "queue: 2, kv-cache: 2, prefix: 3", "", kRestart, "",
     "Weights of the scores summed per endpoint. The map lists the scorers that run, as an llm-d profile: a key left "
     "out does not run (only `prefix: {mode: ...}` given alone keeps the others' defaults); weight 0 = not run."},
    {"prefixBlockBytes", "int", "64", "1..1048576", kRestart, "",
     "Prompt bytes per prefix-hash block (16 tokens x 4 chars)."},
    {"prefixIndexMemoryBytes", "byte size", "128Mi", "1Mi..1Ti", kRestart, "--prefix-index-bytes",
     "Prefix index memory budget."},
    {"tokensPerImage", "int", "576", "1..16384", kRestart, "",
     "Tokens an image content part (`image_url`) counts for in the prefix chain and the gateway's token estimates, "
     "whatever the size of its base64 (the model's rule, e.g. 576 for LLaVA-1.5's 336 px, 256 for PaliGemma); the "
     "part itself is keyed by a hash of its decoded bytes (a remote URL: of its text)."},
    {"tokensPerAudio", "int", "750", "1..16384", kRestart, "",
     "Tokens an audio content part (`input_audio`) counts for, as `tokensPerImage` (750: Whisper's 30 s window)."},
    {"loadGuard", "map", "", "", kRestart, "",
     "Cache affinity must not create a hotspot: an endpoint whose load exceeds the least-loaded one's by more than "
     "max((ratio - 1) x mean load, minLoad) loses its prefix bonus."},
    {"loadSignal", "map", "", "", kRestart, "", "Where the load part of a decision comes from."},
    {"sessionHeader", "string", "x-session-id", "an HTTP header name, or \"\" = none", kLive, "",
     "Request header that pins a conversation (the `header` key of `sessionKeys`)."},
    {"sessionKeys", "list of string", "[prompt_cache_key, safety_identifier, user, header]",
     "each of prompt_cache_key, safety_identifier, user, header at most once", kLive, "",
     "What pins a conversation to a server, first present wins: the body's prompt_cache_key, safety_identifier or "
     "user (OpenAI's fields), or `sessionHeader`. A key left out is off; [] turns session affinity off. Bad values "
     "(over 256 bytes, control bytes) fall through to the next key."},
    {"metricsStaleAfter", "duration", "2s", "1ms..1h", kRestart, "--metrics-staleness-threshold",
     "Older scraped metrics are not trusted as fresh."},
    {"headroomSelectionStrategy", "string", "least", "least, most", kRestart, "",
     "Requests with latency objectives (x-llm-d-slo-*-ms) go to the server predicted to meet them with the least "
     "headroom (bin-packing, llm-d's default) or the most (spreading)."},
    {"filters", "map", "prefix-cache-affinity", "", kRestart, "",
     "Filters that narrow the candidates before the scorers run (llm-d's Filter plugins), each key a filter: `true`, "
     "or a map of its parameters, runs it; `false` does not; left out, its default."},
};
// scheduler.filters: one key per filter of the registry (sched::kFilters).
inline constexpr Field kFilterFields[] = {
    {"prefix-cache-affinity", "bool or map", "true", "", kRestart, "",
     "llm-d's prefix-cache-affinity-filter (on by default: perf/routing/README.md, \"llm-d's optimized baseline\"): "
     "only the servers holding at least `affinityThreshold` of the prompt stay candidates, unless none does, the best "
     "of them is predicted to answer its first token more than `maxTTFTPenaltyMs` after the best other (the latency "
     "model; skipped while it has learnt nothing), or a draw of `explorationProbability` skips the filter."},
    {"context-length", "bool", "false", "", kRestart, "",
     "llm-d's context-length-aware with enableFiltering: only the servers whose context-length range (pod label "
     "llm-d.ai/context-length-range, a static entry's `contextLengthRange`) holds the prompt's tokens, and those "
     "without a range, stay candidates, before session affinity and prefix placement; a server whose label does "
     "not parse is left out; when none is left, all stay (the `context-length` scorer then ranks them by how near "
     "their ranges are)."},
};
inline constexpr Field kPrefixAffinityFilterFields[] = {
    {"enabled", "bool", "true", "", kRestart, "",
     "Whether the filter runs when its map is given (a map without it runs the filter)."},
    {"affinityThreshold", "number", "0.80", "0..1", kRestart, "",
     "Sticky: the leading prompt blocks a server holds over the prompt's blocks (the prefix score) at least this; 0 = "
     "the filter keeps every candidate."},
    {"explorationProbability", "number", "0.01", "0..1", kRestart, "",
     "The share of requests for which the filter is skipped, so other servers learn prompts too."},
    {"maxTTFTPenaltyMs", "number", "5000", "0..3600000", kRestart, "",
     "Stickiness breaks when the best sticky server's predicted TTFT exceeds the best other's by more than this (ms); "
     "0 = always stick."},
};
// Scorers with parameters beyond their weight: their key may be a map.
inline constexpr Field kTokenLoadScorerFields[] = {
    {"weight", "number", "0", "0..1000", kRestart, "",
     "The token-load scorer's weight (a plain `token-load: 1` is this alone)."},
    {"queueThresholdTokens", "int", "4194304", "1..1e12", kRestart, "",
     "Tokens in flight at a server at which its score reaches 0: 1 - min(1, tokens / this) (llm-d's "
     "token-load-scorer; 4Mi = 128 requests of 32K tokens)."},
    {"addEstimatedOutputTokens", "bool", "true", "", kRestart, "",
     "A request in flight counts its prompt tokens and 1.5x as many estimated output tokens (llm-d's "
     "inflight-load-producer estimate); false: its prompt tokens only."},
};
inline constexpr Field kActiveRequestScorerFields[] = {
    {"weight", "number", "0", "0..1000", kRestart, "",
     "The active-request scorer's weight (a plain `active-request: 1` is this alone)."},
    {"idleThreshold", "int", "0", "0..1000000", kRestart, "",
     "A server with at most this many requests in flight scores 1 (llm-d's active-request-scorer)."},
    {"maxBusyScore", "number", "1.0", "0..1", kRestart, "",
     "A busier server scores (most - its) / most x this, the busiest 0."},
};
inline constexpr Field kNoHitLruScorerFields[] = {
    {"weight", "number", "0", "0..1000", kRestart, "",
     "The no-hit-lru scorer's weight (a plain `no-hit-lru: 1` is this alone)."},
    {"lruSize", "int", "1024", "1..1000000", kRestart, "",
     "llm-d's LRU capacity; accepted for its configs and unused: ringgate stamps every server with when it last took "
     "a cold request."},
};
// scheduler.scorers: one field per scorer of the registry (sched::kScorers); the generator
// adds each one's llm-d plugin type and default weight from the registry.
inline constexpr std::array<Field, sched::kScorerCount> kScorerFields = [] {
  std::array<Field, sched::kScorerCount> fields{};
  for (size_t i = 0; i < sched::kScorerCount; ++i)
    fields[i] = Field{sched::kScorers[i].name, "number", "", "0..1000", kRestart, "",
                      "Weight of this scorer (0 = not run); see the scorer table."};
  return fields;
}();
// scheduler.scorers.prefix as a map (it may also be a plain weight).
inline constexpr Field kPrefixScorerFields[] = {
    {"weight", "number", "3", "0..1000", kRestart, "",
     "The prefix scorer's weight (a plain `prefix: 3` is this alone)."},
    {"mode", "string", "approximate", "approximate, precise", kRestart, "",
     "approximate: the gateway's own index of the prompts it routed; precise: the blocks each server announced in its "
     "vLLM KV-cache events (see kvEvents), the prompt hashed as vLLM hashes it."},
    {"tokenizer", "string", "sim-bytes", "sim-bytes or a directory", kRestart, "",
     "Precise: prompt -> token ids: sim-bytes (ringgate-sim's 4 bytes a token) or a directory with the model's "
     "tokenizer.json (+ tokenizer_config.json for chat), loaded with the config."},
    {"maxTokenizeBytes", "byte size", "64Ki", "1Ki..64Mi", kRestart, "",
     "Precise: only this much of a prompt's text is tokenized."},
    {"tokenCacheBytes", "byte size", "64Mi", "0..16Gi", kRestart, "",
     "Precise: token ids of long prompts (4 KiB of text or more) kept for their next request; 0 = none."},
    {"blockSize", "int", "16", "1..65536", kRestart, "", "Precise: tokens per KV block, the servers' --block-size."},
    {"hashSeed", "string", "\"0\"", "at most 256 characters", kRestart, "",
     "Precise: the servers' PYTHONHASHSEED (vLLM's block hash seed)."},
    {"standDownShare", "number", "0.25", "0..1", kRestart, "",
     "Behind the prefix-cache-affinity filter, the scorer stands down (scores at a tenth, so load decides among "
     "the holders the filter keeps, or among all when it keeps none, and the prefix only between equal loads) "
     "while the pool's prompts are cheap to hold twice: the prompt roots the index holds (each distinct first "
     "block, once per server holding it) times this prompt's cached lead is at most this share of every "
     "candidate's index capacity, and a chat's lead is within its root (its messages "
     "through the first user one; past it the lead is a conversation's history). 0 = never. An "
     "EndpointPickerConfig sets 0 (llm-d's scorers do not stand down)."},
    {"tierWeights", "map", "gpu: 1.0, cpu: 0.8, shared_storage: 0.4, object_store: 0.2",
     "tier name: 0..1, at most 8 tiers", kRestart, "",
     "Precise: what a held block counts for by the tier holding it (the KV events' medium, matched "
     "case-insensitively; none = gpu): the matched run of leading blocks is summed at each block's best tier and "
     "divided by the prompt's blocks, as llm-d's precise scorer. Keys given override the defaults; a tier named by "
     "no key is unknown: its events are counted (ringgate_kv_events_unknown_medium_total) and not applied, so its "
     "blocks score 0."},
};
inline constexpr Field kLoadGuardFields[] = {
    {"enabled", "bool", "true", "", kRestart, "", "Whether the load guard runs."},
    {"ratio", "number", "2.0", "1..1000", kRestart, "",
     "Load above (ratio - 1) x the mean over the least-loaded one loses the prefix bonus."},
    {"minLoad", "int", "8", "0..1000000", kRestart, "", "The smallest load gap that counts."},
};
inline constexpr Field kLoadSignalFields[] = {
    {"mode", "string", "local (shared when scorers.prefix.mode is precise)", "local, shared", kRestart, "",
     "local = scraped waiting + this gateway's in-flight requests, min-max over the candidates; shared = scraped "
     "waiting + running only, in coarse steps on an absolute scale, so replicas scraping at the same instants agree "
     "on every decision."},
    {"step", "number", "4", "1..1e6", kRestart, "",
     "Shared: requests per load step; the queue score falls from 1 to 0 over 8 steps."},
    {"kvStep", "number", "0.25", "0.01..1", kRestart, "", "Shared: KV-usage step."},
    {"noiseBand", "bool", "true", "", kRestart, "",
     "Local, while no server has requests waiting and one holds some of the prompt: loads within the square root "
     "of the mean load of the least loaded candidate score as the least (ties then go to the KV cache and the "
     "prompt's rendezvous order); false = plain min-max always, as llm-d's queue-scorer (what an "
     "EndpointPickerConfig gets)."},
};
inline constexpr Field kKvEventsFields[] = {
    {"port", "int", "5557", "1..65535", kRestart, "",
     "Port of the PUB socket on each endpoint's host (vLLM's default tcp://*:5557)."},
    {"replayPort", "int", "0", "0..65535", kRestart, "",
     "Its replay socket (ROUTER), to fill sequence gaps; 0 = none."},
    {"topic", "string", "\"\"", "", kRestart, "", "Subscription prefix; \"\" = every topic."},
    {"maxBlocksPerEndpoint", "int", "262144", "1..67108864", kRestart, "",
     "Block hashes held per server (the exact index's bound)."},
    {"endpoints", "list", "", "", kRestart, "", "Per server, explicit addresses in place of host:port."},
};
inline constexpr Field kKvEventsEndpointFields[] = {
    {"endpoint", "host:port", "", "", kRestart, "", "A pool endpoint (host:port of its API)."},
    {"address", "ZMQ URL", "", "", kRestart, "", "Its PUB socket (tcp://host:port)."},
    {"replay", "ZMQ URL", "", "", kRestart, "", "Optional: its replay socket."},
};
inline constexpr Field kLimitsFields[] = {
    {"maxHeaderBytes", "byte size", "16Ki", "1Ki..1Mi", kRestart, "--max-header-bytes",
     "Request head limit; 431 above."},
    {"maxBodyBytes", "byte size", "8Mi", "1Ki..1Gi", kRestart, "--max-body-bytes", "Request body limit; 413 above."},
};
inline constexpr Field kTimeoutsFields[] = {
    {"headerRead", "duration", "10s", "1ms..24h", kRestart, "--header-timeout-ms", "Whole request head; 408 after."},
    {"clientIdle", "duration", "60s", "1ms..24h", kRestart, "--idle-timeout-ms", "Idle keep-alive client connection."},
    {"upstreamConnect", "duration", "3s", "1ms..24h", kRestart, "--upstream-connect-timeout-ms",
     "Upstream connect; then the next endpoint, or 504."},
    {"upstreamFirstByte", "duration", "300s", "1ms..24h", kRestart, "--upstream-first-byte-timeout-ms",
     "Request sent -> first response byte; 504 beyond. Non-streamed answers arrive whole: keep this long."},
    {"upstreamIdle", "duration", "4s", "1ms..24h", kRestart, "--upstream-idle-timeout-ms",
     "Pooled upstream connections' idle lifetime; keep below vLLM's 5 s keep-alive."},
    {"upstreamReadIdle", "duration", "120s", "1ms..24h", kRestart, "--upstream-read-idle-timeout-ms",
     "A response that started sends no byte this long: cut."},
    {"clientWrite", "duration", "60s", "1ms..24h", kRestart, "--client-write-timeout-ms",
     "A client that takes no response bytes this long: closed."},
    {"request", "duration", "600s", "0..24h", kRestart, "--request-timeout-ms",
     "Whole request; 504 or an SSE error event beyond; 0 = no limit."},
    {"drain", "duration", "10s", "0..24h", kRestart, "--drain-timeout-ms",
     "On SIGTERM, the time in-flight requests get."},
};
inline constexpr Field kMetricsFields[] = {
    {"pollInterval", "duration", "50ms", "5ms..1h", kRestart, "--refresh-metrics-interval",
     "Scrape of every endpoint's /metrics."},
    {"scrapeTimeout", "duration", "1s", "1ms..10m", kRestart, "",
     "One scrape's timeout; a failed scrape counts toward unhealthiness."},
    {"names", "string", "both", "gaie, llm-d, both", kRestart, "--metrics-names",
     "EPP names on the admin /metrics: gaie (inference_*), llm-d (llm_d_epp_*) or both."},
    {"maxLabelValues", "int", "64", "1..1024", kRestart, "",
     "Distinct values of each metric label that a client or a model server chooses (fairness_id, tenant, "
     "model_name and target_model_name), for the whole process. Only an admitted request adds one; later values "
     "read \"other\" and count in ringgate_metric_label_overflow_total."},
};
inline constexpr Field kHealthFields[] = {
    {"ejectAfterFailures", "int", "3", "1..1000", kRestart, "", "Consecutive failures before passive ejection."},
    {"ejectBase", "duration", "1s", "1ms..1h", kRestart, "", "First ejection, doubled on each repeat ..."},
    {"ejectMax", "duration", "30s", "1ms..24h, at least ejectBase", kRestart, "", "... up to this."},
};
inline constexpr Field kRetriesFields[] = {
    {"budget", "int", "2", "0..10", kRestart, "--max-attempts (budget + 1)",
     "Extra attempts on other endpoints, only before the first byte reached the client."},
    {"deadline", "duration", "5s", "0..1h", kRestart, "",
     "No new attempt after this, counted from the request's first attempt (time queued is not retrying)."},
};
inline constexpr Field kMigrationFields[] = {
    {"enabled", "bool", "true", "", kRestart, "",
     "Continue a broken stream on another server: the client's request, the text so far appended, max_tokens reduced."},
    {"stallTimeout", "duration", "30s", "100ms..1h", kRestart, "",
     "A stream silent this long (counted from its first byte) counts as broken."},
    {"maxPerRequest", "int", "2", "1..10", kRestart, "", "Continuations of one request."},
    {"maxTokens", "int", "8192", "1..1000000", kRestart, "", "The longest generated text carried into a continuation."},
};
inline constexpr Field kDisaggregationFields[] = {
    {"enabled", "bool", "on when the pool has a prefill endpoint", "", kRestart, "",
     "Whether requests may be split into a prefill and a decode leg."},
    {"nonCachedTokens", "int", "512", "0..1000000", kRestart, "",
     "The fewest prompt tokens the decode server does not hold that split a request; 0 = never split."},
    {"prefillTimeout", "duration", "30s", "1ms..1h", kRestart, "", "The prefill leg, sent to whole answer."},
};
inline constexpr Field kHedgingFields[] = {
    {"enabled", "bool", "false", "", kRestart, "", "Whether hedged prefill runs (ringgate_hedged_requests_total)."},
    {"maxExtraLoad", "number", "0.05", "0..1", kRestart, "", "At most this many hedges per request a worker serves."},
    {"headroom", "number", "0.2", "0..1", kRestart, "",
     "Hedge when (objective - predicted TTFT) / objective is below this."},
};
inline constexpr Field kAccessLogFields[] = {
    {"enabled", "bool", "false", "", kRestart, "", "One JSON line per request."},
    {"path", "path", "-", "", kRestart, "", "Where to; \"-\" = standard output."},
};
inline constexpr Field kTracingFields[] = {
    {"endpoint", "url", "", "http://host:port[/base]", kRestart, "",
     "The OTLP/HTTP collector; spans go to <endpoint>/v1/traces (OTEL_EXPORTER_OTLP_ENDPOINT's form). Unset: the "
     "environment's, else off; empty: off."},
    {"sampleRatio", "number", "1", "0..1", kRestart, "",
     "Of the traces this gateway starts, the share sampled; a request with a traceparent follows its sampled flag "
     "(parent-based)."},
    {"serviceName", "string", "ringgate", "", kRestart, "", "The resource's service.name."},
    {"headers", "map", "", "header name: value", kRestart, "",
     "Headers sent with every export (e.g. an authorization for the collector)."},
    {"timeout", "duration", "10s", "1ms..10m", kRestart, "",
     "One export POST; a timed-out batch is sent again after a backoff."},
    {"maxQueueSpans", "int", "2048", "1..1000000", kRestart, "",
     "Spans waiting for export; beyond, new spans are dropped "
     "(ringgate_trace_spans_dropped_total{reason=\"queue_full\"})."},
};
inline constexpr Field kScaleFromZeroFields[] = {
    {"wakeUrl", "url", "", "http://host[:port][/path]", kRestart, "",
     "While requests wait for a model with no ready server, POST {\"model\": M, \"held\": N} here, once per model "
     "per wakeInterval, from the control thread (never a storm, never on the data path; failures counted in "
     "ringgate_scale_from_zero_wake_failures_total). Unset: no hook."},
    {"wakeInterval", "duration", "10s", "100ms..1h", kRestart, "",
     "At most one wake POST per model this often (one POST's timeout is the smaller of it and 5s)."},
};
inline constexpr Field kIoFields[] = {
    {"backend", "string", "auto", "auto, io_uring, epoll", kRestart, "--io-backend",
     "Event loop: auto (io_uring, epoll where it is refused, e.g. by a container's seccomp profile), io_uring or "
     "epoll."},
};
inline constexpr Field kSaturationDetectorFields[] = {
    {"queueDepthThreshold", "int", "5", "1..1000000", kLive, "",
     "A server whose waiting queue reaches this is saturated."},
    {"kvCacheUtilThreshold", "number", "0.8", "(0..1]", kLive, "", "... or whose KV cache is this full."},
    {"metricsStalenessThreshold", "duration", "200ms", "1ms..1h", kLive, "",
     "... or whose metrics are older than this."},
    {"maxConcurrency", "int", "0", "0..1000000", kLive, "",
     "... or where this gateway has that many requests in flight (GAIE's concurrency detector; e.g. the servers' "
     "max-num-seqs); 0 = off."},
    {"sheddableHeadroom", "int", "0", "0..1000000, below maxConcurrency", kLive, "",
     "With maxConcurrency: slots of each server that sheddable requests leave to the others; 0 = none."},
};
inline constexpr Field kFlowControlFields[] = {
    {"enabled", "bool", "false", "", kLive, "",
     "Whether requests queue in the gateway while every candidate is saturated."},
    {"maxBytes", "byte size", "", "1..1Ti", kLive, "", "Request bytes queued, all bands together; absent = no bound."},
    {"maxRequests", "int", "", "1..10000000", kLive, "", "Requests queued, all bands together; absent = no bound."},
    {"defaultRequestTTL", "duration", "30s", "1ms..1h", kLive, "",
     "Waited longer: 429 with x-llm-d-request-dropped-reason: rejected-ttl-expired and Retry-After."},
    {"noEndpointRequestTTL", "duration", "5m", "0..1h", kLive, "",
     "How long a request waits for a model with no ready server (a pool scaled to zero), whether or not flow control "
     "is enabled; then 503 rejected-no-endpoints. 0: answered 503 at once."},
    {"defaultPriorityBand", "map", "", "", kLive, "", "The bounds of each band not listed in priorityBands."},
    {"priorityBands", "list", "", "", kLive, "", "Bounds per InferenceObjective priority."},
};
inline constexpr Field kDefaultPriorityBandFields[] = {
    {"maxBytes", "byte size", "1000000000", "1..1Ti", kLive, "",
     "Request bytes a band queues (GAIE's default band capacity, 1 GB)."},
    {"maxRequests", "int", "1000", "1..10000000", kLive, "", "Requests a band queues."},
};
inline constexpr Field kPriorityBandFields[] = {
    {"priority", "int", "", "-1000000..1000000", kLive, "",
     "The InferenceObjective priority this band holds (required)."},
    {"maxBytes", "byte size", "defaultPriorityBand's", "1..1Ti", kLive, "", "Request bytes this band queues."},
    {"maxRequests", "int", "defaultPriorityBand's", "1..10000000", kLive, "", "Requests this band queues."},
};
inline constexpr Field kRateLimitsFields[] = {
    {"tenantHeader", "string", "x-gateway-inference-fairness-id", "an HTTP header name", kLive, "",
     "The header that names the tenant (an API key's tenant replaces it)."},
    {"tokensPerMinute", "int", "0", "0..2^50", kLive, "",
     "Prompt + completion tokens per tenant; 0 = no limit (429 with Retry-After beyond)."},
    {"requestsPerMinute", "int", "0", "0..2^40", kLive, "", "Requests per tenant; 0 = no limit."},
    {"maxTenants", "int", "10000", "1..1000000", kRestart, "",
     "Tenants tracked at once; later ones share one overflow budget."},
};
// clang-format on

// The key lists the reader takes (read_map): the fields' names.
inline constexpr auto kRoot = names_of(kRootFields);
inline constexpr auto kListen = names_of(kListenFields);
inline constexpr auto kAuth = names_of(kAuthFields);
inline constexpr auto kAdmin = names_of(kAdminFields);
inline constexpr auto kHub = names_of(kHubFields);
inline constexpr auto kResponses = names_of(kResponsesFields);
inline constexpr auto kSharedState = names_of(kSharedStateFields);
inline constexpr auto kSharedStateRedis = names_of(kSharedStateRedisFields);
inline constexpr auto kListenTls = names_of(kListenTlsFields);
inline constexpr auto kListenHttp2 = names_of(kListenHttp2Fields);
inline constexpr auto kPool = names_of(kPoolFields);
inline constexpr auto kDiscovery = names_of(kDiscoveryFields);
inline constexpr auto kStaticEndpoint = names_of(kStaticEndpointFields);  // pool.discovery.static items as maps
inline constexpr auto kKubernetes = names_of(kKubernetesFields);
inline constexpr auto kScheduler = names_of(kSchedulerFields);
// Every scorer of the registry (sched::kScorers) is a key.
inline constexpr std::array<std::string_view, sched::kScorerCount> kScorers = sched::scorer_names();
inline constexpr auto kPrefixScorer = names_of(kPrefixScorerFields);
inline constexpr auto kFilters = names_of(kFilterFields);
inline constexpr auto kPrefixAffinityFilter = names_of(kPrefixAffinityFilterFields);
inline constexpr auto kTokenLoadScorer = names_of(kTokenLoadScorerFields);
inline constexpr auto kActiveRequestScorer = names_of(kActiveRequestScorerFields);
inline constexpr auto kNoHitLruScorer = names_of(kNoHitLruScorerFields);
inline constexpr auto kLoadGuard = names_of(kLoadGuardFields);
inline constexpr auto kLoadSignal = names_of(kLoadSignalFields);
inline constexpr auto kKvEvents = names_of(kKvEventsFields);
inline constexpr auto kKvEventsEndpoint = names_of(kKvEventsEndpointFields);
inline constexpr auto kLimits = names_of(kLimitsFields);
inline constexpr auto kTimeouts = names_of(kTimeoutsFields);
inline constexpr auto kMetrics = names_of(kMetricsFields);
inline constexpr auto kHealth = names_of(kHealthFields);
inline constexpr auto kRetries = names_of(kRetriesFields);
inline constexpr auto kMigration = names_of(kMigrationFields);
inline constexpr auto kDisaggregation = names_of(kDisaggregationFields);
inline constexpr auto kHedging = names_of(kHedgingFields);
inline constexpr auto kAccessLog = names_of(kAccessLogFields);
inline constexpr auto kIo = names_of(kIoFields);
inline constexpr auto kScaleFromZero = names_of(kScaleFromZeroFields);
inline constexpr auto kTracing = names_of(kTracingFields);
inline constexpr auto kSaturationDetector = names_of(kSaturationDetectorFields);
inline constexpr auto kFlowControl = names_of(kFlowControlFields);
inline constexpr auto kDefaultPriorityBand = names_of(kDefaultPriorityBandFields);
inline constexpr auto kPriorityBand = names_of(kPriorityBandFields);
inline constexpr auto kRateLimits = names_of(kRateLimitsFields);

// Every map of the document by its dotted path; "[]" stands for the items of a list.
// A key that is not itself a map here is a leaf (a scalar, a list of scalars, or
// `metadata`, Kubernetes' object metadata).
struct Map {
  std::string_view path;
  Keys keys;
  std::span<const Field> fields;  // the same keys, described
};

inline constexpr Map kMaps[] = {
    {"", kRoot, kRootFields},
    {"listen", kListen, kListenFields},
    {"listen.tls", kListenTls, kListenTlsFields},
    {"listen.http2", kListenHttp2, kListenHttp2Fields},
    {"pool", kPool, kPoolFields},
    {"pool.discovery", kDiscovery, kDiscoveryFields},
    {"pool.discovery.static[]", kStaticEndpoint, kStaticEndpointFields},
    {"pool.discovery.kubernetes", kKubernetes, kKubernetesFields},
    {"scheduler", kScheduler, kSchedulerFields},
    {"scheduler.scorers", kScorers, kScorerFields},
    {"scheduler.scorers.prefix", kPrefixScorer, kPrefixScorerFields},
    {"scheduler.scorers.token-load", kTokenLoadScorer, kTokenLoadScorerFields},
    {"scheduler.scorers.active-request", kActiveRequestScorer, kActiveRequestScorerFields},
    {"scheduler.scorers.no-hit-lru", kNoHitLruScorer, kNoHitLruScorerFields},
    {"scheduler.filters", kFilters, kFilterFields},
    {"scheduler.filters.prefix-cache-affinity", kPrefixAffinityFilter, kPrefixAffinityFilterFields},
    {"scheduler.loadGuard", kLoadGuard, kLoadGuardFields},
    {"scheduler.loadSignal", kLoadSignal, kLoadSignalFields},
    {"kvEvents", kKvEvents, kKvEventsFields},
    {"kvEvents.endpoints[]", kKvEventsEndpoint, kKvEventsEndpointFields},
    {"limits", kLimits, kLimitsFields},
    {"timeouts", kTimeouts, kTimeoutsFields},
    {"metrics", kMetrics, kMetricsFields},
    {"health", kHealth, kHealthFields},
    {"retries", kRetries, kRetriesFields},
    {"migration", kMigration, kMigrationFields},
    {"disaggregation", kDisaggregation, kDisaggregationFields},
    {"hedging", kHedging, kHedgingFields},
    {"accessLog", kAccessLog, kAccessLogFields},
    {"io", kIo, kIoFields},
    {"tracing", kTracing, kTracingFields},
    {"scaleFromZero", kScaleFromZero, kScaleFromZeroFields},
    {"saturationDetector", kSaturationDetector, kSaturationDetectorFields},
    {"flowControl", kFlowControl, kFlowControlFields},
    {"flowControl.defaultPriorityBand", kDefaultPriorityBand, kDefaultPriorityBandFields},
    {"flowControl.priorityBands[]", kPriorityBand, kPriorityBandFields},
    {"rateLimits", kRateLimits, kRateLimitsFields},
    {"auth", kAuth, kAuthFields},
    {"admin", kAdmin, kAdminFields},
    {"hub", kHub, kHubFields},
    {"responses", kResponses, kResponsesFields},
    {"sharedState", kSharedState, kSharedStateFields},
    {"sharedState.redis", kSharedStateRedis, kSharedStateRedisFields},
};

}  // namespace ringgate::config::gateway_schema
