#pragma once
// The Gateway document's schema as data: each map of `kind: Gateway` and the keys it
// allows. The reader (src/config/gateway_document.cpp, config_loader.cpp) takes every
// map's keys from here, so a field is readable only once it is listed here; the tests
// enumerate the list (tests/config/example_schema_test.cpp: every field must be shown in
// deploy/examples/ringgate.yaml).

#include <array>
#include <span>
#include <string_view>

#include "ringgate/sched/scorer_registry.h"

namespace ringgate::config::gateway_schema {

using Keys = std::span<const std::string_view>;

inline constexpr std::string_view kRoot[] = {"apiVersion",  "kind",       "metadata",  "listen",
                                             "workers",     "pool",       "scheduler", "kvEvents",
                                             "limits",      "timeouts",   "metrics",   "health",
                                             "retries",     "accessLog",  "io",        "saturationDetector",
                                             "flowControl", "rateLimits", "migration", "disaggregation",
                                             "mode",        "auth",       "admin",     "sharedState",
                                             "hedging"};
inline constexpr std::string_view kListen[] = {"api", "admin", "epp", "eppHealth", "tls"};
inline constexpr std::string_view kAuth[] = {"apiKeysFile"};
inline constexpr std::string_view kAdmin[] = {"auth"};
inline constexpr std::string_view kSharedState[] = {"redis", "syncInterval"};
inline constexpr std::string_view kSharedStateRedis[] = {"address", "passwordFile"};
inline constexpr std::string_view kListenTls[] = {"certFile", "keyFile", "clientCAFile", "handshakeTimeout"};
inline constexpr std::string_view kPool[] = {"name", "discovery"};
inline constexpr std::string_view kDiscovery[] = {"static", "kubernetes"};
// pool.discovery.static items written as a map (a plain "host:port" is role both).
inline constexpr std::string_view kStaticEndpoint[] = {"address", "role", "targetPorts", "dataParallelSize"};
inline constexpr std::string_view kKubernetes[] = {"namespace",          "service",    "port",     "inferencePool",
                                                   "inferencePoolGroup", "watchRules", "apiServer"};
inline constexpr std::string_view kScheduler[] = {
    "scorers",       "prefixBlockBytes",  "prefixIndexMemoryBytes",    "loadGuard", "loadSignal",
    "sessionHeader", "metricsStaleAfter", "headroomSelectionStrategy", "sessionKeys"};
// Every scorer of the registry (sched::kScorers) is a key.
inline constexpr std::array<std::string_view, sched::kScorerCount> kScorers = sched::scorer_names();
// scheduler.scorers.prefix as a map (it may also be a plain weight).
inline constexpr std::string_view kPrefixScorer[] = {"weight",          "mode",      "tokenizer", "maxTokenizeBytes",
                                                     "tokenCacheBytes", "blockSize", "hashSeed"};
inline constexpr std::string_view kLoadGuard[] = {"enabled", "ratio", "minLoad"};
inline constexpr std::string_view kLoadSignal[] = {"mode", "step", "kvStep"};
inline constexpr std::string_view kKvEvents[] = {"port", "replayPort", "topic", "maxBlocksPerEndpoint", "endpoints"};
inline constexpr std::string_view kKvEventsEndpoint[] = {"endpoint", "address", "replay"};
inline constexpr std::string_view kLimits[] = {"maxHeaderBytes", "maxBodyBytes"};
inline constexpr std::string_view kTimeouts[] = {"headerRead",        "clientIdle",   "upstreamConnect",
                                                 "upstreamFirstByte", "upstreamIdle", "upstreamReadIdle",
                                                 "clientWrite",       "request",      "drain"};
inline constexpr std::string_view kMetrics[] = {"pollInterval", "scrapeTimeout", "names"};
inline constexpr std::string_view kHealth[] = {"ejectAfterFailures", "ejectBase", "ejectMax"};
inline constexpr std::string_view kRetries[] = {"budget", "deadline"};
inline constexpr std::string_view kMigration[] = {"enabled", "stallTimeout", "maxPerRequest", "maxTokens"};
inline constexpr std::string_view kDisaggregation[] = {"enabled", "nonCachedTokens", "prefillTimeout"};
inline constexpr std::string_view kHedging[] = {"enabled", "maxExtraLoad", "headroom"};
inline constexpr std::string_view kAccessLog[] = {"enabled", "path"};
inline constexpr std::string_view kIo[] = {"backend"};
inline constexpr std::string_view kSaturationDetector[] = {
    "queueDepthThreshold", "kvCacheUtilThreshold", "metricsStalenessThreshold", "maxConcurrency", "sheddableHeadroom"};
inline constexpr std::string_view kFlowControl[] = {
    "enabled", "maxBytes", "maxRequests", "defaultRequestTTL", "defaultPriorityBand", "priorityBands"};
inline constexpr std::string_view kDefaultPriorityBand[] = {"maxBytes", "maxRequests"};
inline constexpr std::string_view kPriorityBand[] = {"priority", "maxBytes", "maxRequests"};
inline constexpr std::string_view kRateLimits[] = {"tenantHeader", "tokensPerMinute", "requestsPerMinute",
                                                   "maxTenants"};

// Every map of the document by its dotted path; "[]" stands for the items of a list.
// A key that is not itself a map here is a leaf (a scalar, a list of scalars, or
// `metadata`, Kubernetes' object metadata).
struct Map {
  std::string_view path;
  Keys keys;
};

inline constexpr Map kMaps[] = {
    {"", kRoot},
    {"listen", kListen},
    {"listen.tls", kListenTls},
    {"pool", kPool},
    {"pool.discovery", kDiscovery},
    {"pool.discovery.static[]", kStaticEndpoint},
    {"pool.discovery.kubernetes", kKubernetes},
    {"scheduler", kScheduler},
    {"scheduler.scorers", kScorers},
    {"scheduler.scorers.prefix", kPrefixScorer},
    {"scheduler.loadGuard", kLoadGuard},
    {"scheduler.loadSignal", kLoadSignal},
    {"kvEvents", kKvEvents},
    {"kvEvents.endpoints[]", kKvEventsEndpoint},
    {"limits", kLimits},
    {"timeouts", kTimeouts},
    {"metrics", kMetrics},
    {"health", kHealth},
    {"retries", kRetries},
    {"migration", kMigration},
    {"disaggregation", kDisaggregation},
    {"hedging", kHedging},
    {"accessLog", kAccessLog},
    {"io", kIo},
    {"saturationDetector", kSaturationDetector},
    {"flowControl", kFlowControl},
    {"flowControl.defaultPriorityBand", kDefaultPriorityBand},
    {"flowControl.priorityBands[]", kPriorityBand},
    {"rateLimits", kRateLimits},
    {"auth", kAuth},
    {"admin", kAdmin},
    {"sharedState", kSharedState},
    {"sharedState.redis", kSharedStateRedis},
};

}  // namespace ringgate::config::gateway_schema
