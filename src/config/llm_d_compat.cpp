#include "ringgate/config/llm_d_compat.h"

#include <algorithm>

namespace ringgate::config {

namespace {

using S = CompatStatus;
using R = PluginRole;
using P = CompatParam;

constexpr std::string_view kOneProducer =
    "accepted: ringgate keeps one of each (prefix match, in-flight load), which every plugin reads";

// ---- scorers
constexpr P kPrefixParams[] = {
    {"blockSizeTokens", "16", "scheduler.prefixBlockBytes = 4 x tokens (llm-d's 4 characters a token)"},
    {"blockSize", "64", "scheduler.prefixBlockBytes (characters a block; deprecated in llm-d)"},
    {"hashBlockSize", "64", "scheduler.prefixBlockBytes (older name of blockSize)"},
    {"maxPrefixTokensToMatch", "0 (all)",
     "accepted: ringgate matches every block of a prompt, its index bounded by scheduler.prefixIndexMemoryBytes"},
    {"maxPrefixBlocksToMatch", "256",
     "accepted: ringgate matches every block of a prompt, its index bounded by scheduler.prefixIndexMemoryBytes"},
    {"lruCapacityPerServer", "31250",
     "accepted: ringgate bounds the whole index by scheduler.prefixIndexMemoryBytes, shared by num_gpu_blocks"},
    {"autoTune", "true", "true: what ringgate does (each server's share follows its num_gpu_blocks); false refused"},
    {"prefixMatchInfoProducerName", "", kOneProducer},
};
constexpr P kLatencyScorerParams[] = {
    {"headroomSelectionStrategy", "least", "scheduler.headroomSelectionStrategy (least, most; composite-* refused)"},
    {"ttftWeight", "0.8", "accepted: ringgate's SLO pick compares the relative headroom of TTFT and TPOT together"},
    {"tpotWeight", "0.2", "accepted: as ttftWeight"},
    {"compositeKVWeight", "1", "accepted: without a latency model ringgate's scorers decide (no composite)"},
    {"compositeQueueWeight", "1", "accepted: as compositeKVWeight"},
    {"compositePrefixWeight", "1", "accepted: as compositeKVWeight"},
};
constexpr P kTokenLoadParams[] = {
    {"queueThresholdTokens", "4194304", "scheduler.scorers.token-load.queueThresholdTokens (<= 0 keeps the default)"},
    {"inFlightLoadProducerName", "", kOneProducer},
};
constexpr P kActiveRequestParams[] = {
    {"idleThreshold", "0", "scheduler.scorers.active-request.idleThreshold"},
    {"maxBusyScore", "1.0", "scheduler.scorers.active-request.maxBusyScore (outside [0, 1] keeps 1)"},
    {"requestTimeout", "", "accepted: deprecated in llm-d, which ignores it too (a request counts until it ends)"},
    {"inFlightLoadProducerName", "", kOneProducer},
};
constexpr P kNoHitLruParams[] = {
    {"lruSize", "1024", "scheduler.scorers.no-hit-lru.lruSize"},
    {"prefixMatchInfoProducerName", "", kOneProducer},
    {"prefixPluginType", "", kOneProducer},
    {"prefixPluginName", "", kOneProducer},
};
constexpr P kLoadAwareParams[] = {
    {"threshold", "128", "accepted: ringgate's queue scorer ranks the candidates' waiting queues between them"},
};
constexpr P kPreciseScorerParams[] = {
    {"tokenProcessorConfig.blockSize", "16", "scheduler.scorers.prefix.blockSize (the servers' --block-size)"},
    {"tokenProcessorConfig.blockSizeTokens", "16", "scheduler.scorers.prefix.blockSize"},
    {"tokenProcessorConfig.hashSeed", "\"\"", "scheduler.scorers.prefix.hashSeed (the servers' PYTHONHASHSEED)"},
    {"indexerConfig.tokenProcessorConfig.blockSize", "16", "scheduler.scorers.prefix.blockSize"},
    {"indexerConfig.kvBlockIndexConfig", "in-memory",
     "accepted: ringgate's index of KV events is in memory, bounded by kvEvents.maxBlocksPerEndpoint"},
    {"indexerConfig.kvCacheBackendConfigs[].name", "gpu, cpu, shared_storage, object_store",
     "scheduler.scorers.prefix.tierWeights: the list is the whole table, as in llm-d (a tier it leaves out scores 0)"},
    {"indexerConfig.kvCacheBackendConfigs[].weight", "1.0, 0.8, 0.4, 0.2", "the tier's weight, 0..1"},
    {"indexerConfig.tokenizersPoolConfig", "",
     "accepted: ringgate tokenizes in process (scheduler.scorers.prefix.tokenizer)"},
    {"kvEventsConfig.zmqEndpoint", "", "accepted: ringgate subscribes to each server (kvEvents.port)"},
    {"kvEventsConfig.topicFilter", "kv@", "kvEvents.topic"},
    {"kvEventsConfig.concurrency", "4", "accepted: one subscriber a server"},
    {"kvEventsConfig.discoverPods", "true", "accepted: ringgate subscribes to every pool endpoint"},
    {"kvEventsConfig.podDiscoveryConfig.socketPort", "5557", "kvEvents.port"},
    {"kvEventsConfig.podDiscoveryConfig.replaySocketPort", "0", "kvEvents.replayPort"},
    {"speculativeIndexing", "false", "accepted: ringgate's approximate index covers what events have not announced"},
};
constexpr P kSessionParams[] = {
    {"strategy", "encoded_endpoint_header",
     "session_id: mapped; encoded_endpoint_header refused (ringgate writes no session token on responses)"},
    {"sessionIdConfig.sources[].header", "x-session-id",
     "scheduler.sessionHeader, scheduler.sessionKeys [header] (one header source)"},
    {"sessionIdConfig.sources[].attribute", "", "refused: ringgate's session keys are a header or the body's keys"},
    {"sessionIdConfig.evictionTtlSeconds", "300",
     "accepted: ringgate pins a session by rendezvous hash, no binding to expire"},
    {"sessionIdConfig.evictionSweepSeconds", "10", "accepted: as evictionTtlSeconds"},
    {"encodedEndpointHeaderConfig.header", "x-session-token", "refused with encoded_endpoint_header"},
    {"profileName", "", "accepted: ringgate's sessions pin the decode pick"},
};
constexpr P kContextLengthParams[] = {
    {"label", "llm-d.ai/context-length-range",
     "that label only: what ringgate's pod discovery reads (a static entry: contextLengthRange)"},
    {"enableFiltering", "false",
     "scheduler.filters.context-length: only servers whose range holds the prompt (or without one); when none "
     "does, ringgate keeps them all and the score decides, where llm-d fails the request"},
};

// ---- filters
constexpr P kAffinityFilterParams[] = {
    {"affinityThreshold", "0.80", "scheduler.filters.prefix-cache-affinity.affinityThreshold (<= 0: no-op)"},
    {"explorationProbability", "0", "scheduler.filters.prefix-cache-affinity.explorationProbability"},
    {"maxTTFTPenaltyMs", "18000", "scheduler.filters.prefix-cache-affinity.maxTTFTPenaltyMs"},
    {"ttftSource", "prefillThroughput",
     "accepted: ringgate's penalty compares its latency model's predicted TTFTs (llm-d's latencyPredictor)"},
    {"peakPrefillThroughput", "15928", "accepted: as ttftSource (ringgate learns each server's speed)"},
    {"prefixMatchInfoProducerName", "", kOneProducer},
    {"latencyPredictionInfoProducerName", "", kOneProducer},
    {"inFlightLoadProducerName", "", kOneProducer},
};

// ---- profile handlers, deciders
constexpr P kDisaggHandlerParams[] = {
    {"deciderPluginName", "", "the decider plugin (prefix-based-pd-decider, always-disagg-pd-decider)"},
    {"deciders.prefill", "", "the decider plugin, as deciderPluginName"},
    {"deciders.encode", "", "refused: ringgate has no encode stage"},
};
constexpr P kPdHandlerParams[] = {
    {"deciderPluginName", "", "the decider plugin"},
    {"threshold", "0", "disaggregation.nonCachedTokens (older form of prefix-based-pd-decider's)"},
};
constexpr P kPrefixDeciderParams[] = {
    {"nonCachedTokens", "0 (never split)", "disaggregation.nonCachedTokens (0: never split, as llm-d)"},
};

// ---- producers
constexpr P kApproxProducerParams[] = {
    {"blockSizeTokens", "16", "scheduler.prefixBlockBytes = 4 x tokens"},
    {"blockSize", "64", "scheduler.prefixBlockBytes"},
    {"maxPrefixTokensToMatch", "0 (all)", "accepted: ringgate matches every block, index bounded by memory"},
    {"maxPrefixBlocksToMatch", "256", "accepted: as maxPrefixTokensToMatch"},
    {"lruCapacityPerServer", "31250", "accepted: the index is bounded by scheduler.prefixIndexMemoryBytes"},
    {"autoTune", "true", "true: what ringgate does; false refused"},
};
constexpr P kInflightParams[] = {
    {"addEstimatedOutputTokens", "true", "scheduler.scorers.token-load.addEstimatedOutputTokens"},
    {"prefixMatchInfoProducerName", "", kOneProducer},
};
constexpr P kTokenProducerParams[] = {
    {"modelName", "", "accepted: ringgate's tokenizer is scheduler.scorers.prefix.tokenizer"},
    {"vllm", "", "accepted: ringgate tokenizes in process (no call to vLLM's /tokenize)"},
    {"udsTokenizerConfig", "", "accepted: ringgate tokenizes in process (no tokenizer sidecar on a Unix socket)"},
    {"estimate.image", "", "accepted: ringgate counts scheduler.tokensPerImage an image"},
    {"estimate.video", "", "accepted: ringgate counts media by scheduler.tokensPerImage / tokensPerAudio"},
};
constexpr P kPreciseProducerParams[] = {
    {"tokenProcessorConfig.blockSize", "16", "scheduler.scorers.prefix.blockSize"},
    {"tokenProcessorConfig.blockSizeTokens", "16", "scheduler.scorers.prefix.blockSize"},
    {"tokenProcessorConfig.hashSeed", "\"\"", "scheduler.scorers.prefix.hashSeed"},
    {"indexerConfig.kvBlockIndexConfig", "in-memory", "accepted: bounded by kvEvents.maxBlocksPerEndpoint"},
    {"indexerConfig.kvCacheBackendConfigs[].name", "gpu, cpu, shared_storage, object_store",
     "scheduler.scorers.prefix.tierWeights: the list is the whole table, as in llm-d (a tier it leaves out scores 0)"},
    {"indexerConfig.kvCacheBackendConfigs[].weight", "1.0, 0.8, 0.4, 0.2", "the tier's weight, 0..1"},
    {"indexerConfig.tokenProcessorConfig.blockSize", "16", "scheduler.scorers.prefix.blockSize"},
    {"kvEventsConfig.zmqEndpoint", "", "accepted: ringgate subscribes to each server (kvEvents.port)"},
    {"kvEventsConfig.topicFilter", "kv@", "kvEvents.topic"},
    {"kvEventsConfig.concurrency", "4", "accepted: one subscriber a server"},
    {"kvEventsConfig.discoverPods", "true", "accepted: ringgate subscribes to every pool endpoint"},
    {"kvEventsConfig.podDiscoveryConfig.socketPort", "5557", "kvEvents.port"},
    {"kvEventsConfig.podDiscoveryConfig.replaySocketPort", "0", "kvEvents.replayPort"},
    {"speculativeIndexing", "false", "accepted: ringgate's approximate index covers what events have not announced"},
};
constexpr P kPredictedLatencyParams[] = {
    {"streamingMode", "false", "accepted: ringgate's latency model learns TTFT and TPOT from every answer"},
};

// ---- data layer
constexpr P kMetricsSourceParams[] = {
    {"scheme", "http", "http only (ringgate scrapes over plain HTTP); https refused"},
    {"path", "/metrics", "/metrics only; another path refused"},
    {"insecureSkipVerify", "true", "accepted: no TLS to verify over http"},
};

// ---- flow control
constexpr P kConcurrencyParams[] = {
    {"maxConcurrency", "100", "saturationDetector.maxConcurrency = maxConcurrency x (1 + headroom)"},
    {"headroom", "0.0", "the burst over maxConcurrency, folded into saturationDetector.maxConcurrency"},
    {"concurrencyMode", "requests", "requests only; tokens refused"},
    {"maxTokenConcurrency", "1000000", "accepted with concurrencyMode requests (llm-d reads it only in tokens mode)"},
    {"inFlightLoadProducerName", "", kOneProducer},
};
constexpr P kUtilizationParams[] = {
    {"queueDepthThreshold", "5", "saturationDetector.queueDepthThreshold"},
    {"kvCacheUtilThreshold", "0.8", "saturationDetector.kvCacheUtilThreshold"},
    {"metricsStalenessThreshold", "200ms", "saturationDetector.metricsStalenessThreshold"},
    {"headroom", "0.0", "refused above 0: ringgate's detector has no burst allowance"},
};

constexpr std::string_view kHarness = "a plugin of llm-d's Go test harness, not of a deployment";

constexpr PluginCompat kPlugins[] = {
    // scorers
    {"queue-scorer", R::Scorer, S::Same, "scheduler.scorers.queue, min-max (scheduler.loadSignal.noiseBand false)", {}},
    {"kv-cache-utilization-scorer", R::Scorer, S::Same, "scheduler.scorers.kv-cache", {}},
    {"prefix-cache-scorer", R::Scorer, S::Same, "scheduler.scorers.prefix (approximate index)", kPrefixParams},
    {"latency-scorer", R::Scorer, S::Same, "scheduler.scorers.latency (ringgate's online latency model)",
     kLatencyScorerParams},
    {"lora-affinity-scorer", R::Scorer, S::Same, "scheduler.scorers.lora-affinity", {}},
    {"token-load-scorer", R::Scorer, S::Same, "scheduler.scorers.token-load", kTokenLoadParams},
    {"active-request-scorer", R::Scorer, S::Same, "scheduler.scorers.active-request", kActiveRequestParams},
    {"no-hit-lru-scorer", R::Scorer, S::Same, "scheduler.scorers.no-hit-lru", kNoHitLruParams},
    {"load-aware-scorer", R::Scorer, S::Mapped,
     "scheduler.scorers.queue: llm-d scores waiting requests against a threshold, ringgate's queue scorer "
     "ranks them between the candidates (the emptier, the higher)",
     kLoadAwareParams},
    {"precise-prefix-cache-scorer", R::Scorer, S::Mapped,
     "scheduler.scorers.prefix with mode precise: vLLM's KV events (kvEvents) and block hashes", kPreciseScorerParams},
    {"session-affinity-scorer", R::Scorer, S::Mapped,
     "ringgate's session affinity (scheduler.sessionKeys, sessionHeader): a session's requests go to its "
     "rendezvous server until the load guard finds it overloaded",
     kSessionParams},
    {"context-length-aware", R::Scorer, S::Mapped,
     "scheduler.scorers.context-length (llm-d's scores: in range (0.3, 1], tighter and roomier higher; out of range "
     "below 0.3, nearer higher; no label 0.5; a label that does not parse 0) over the prompt's tokens (4 bytes a "
     "token, or the tokenizer's count); a 'prefill' profile's runs on every pick",
     kContextLengthParams},
    {"endpoint-attribute-scorer",
     R::Scorer,
     S::Refused,
     "ringgate has no attribute producers (DCGM, custom) to score by",
     {}},
    {"mm-embeddings-cache-scorer", R::Scorer, S::Refused, "ringgate keeps no multimodal embeddings cache index", {}},
    {"topology-affinity-scorer", R::Scorer, S::Refused, "ringgate reads no topology of the servers", {}},
    // filters
    {"decode-filter",
     R::Filter,
     S::Mapped,
     "ringgate's endpoint roles: the decode pick is among decode and both endpoints (llm-d.ai/role label)",
     {}},
    {"prefill-filter",
     R::Filter,
     S::Mapped,
     "ringgate's endpoint roles: the prefill leg goes to prefill endpoints (llm-d.ai/role label)",
     {}},
    {"encode-filter", R::Filter, S::Refused, "ringgate has no encode stage (E/P/D disaggregation)", {}},
    {"prefix-cache-affinity-filter", R::Filter, S::Same, "scheduler.filters.prefix-cache-affinity",
     kAffinityFilterParams},
    {"session-affinity-filter", R::Filter, S::Mapped,
     "ringgate's session affinity (scheduler.sessionKeys, sessionHeader); unlike llm-d's hard filter, the load "
     "guard moves a session off an overloaded server",
     kSessionParams},
    {"slo-headroom-tier-filter",
     R::Filter,
     S::Mapped,
     "ringgate's SLO pick: a request with latency objectives goes among the servers predicted to meet them",
     {}},
    {"label-selector-filter", R::Filter, S::Refused, "ringgate's pool has no per-profile label selection", {}},
    {"endpoint-attribute-filter", R::Filter, S::Refused, "ringgate has no attribute producers to filter by", {}},
    {"topology-affinity-filter", R::Filter, S::Refused, "ringgate reads no topology of the servers", {}},
    // pickers
    {"max-score-picker", R::Picker, S::Same, "ringgate's picker: the highest score, ties at random", {}},
    {"random-picker",
     R::Picker,
     S::Refused,
     "ringgate always picks by score (session, prefix placement and load guard too); no random baseline",
     {}},
    {"weighted-random-picker",
     R::Picker,
     S::Refused,
     "not implemented: ringgate picks the highest score, not at random in proportion to it",
     {}},
    // profile handlers
    {"single-profile-handler", R::ProfileHandler, S::Same, "ringgate runs one scheduling profile", {}},
    {"disagg-profile-handler", R::ProfileHandler, S::Mapped,
     "disaggregation: the 'decode' profile's scorers pick the server that answers; a prompt the decider splits is "
     "prefilled on a prefill endpoint first (EPP mode: x-prefiller-host-port for llm-d's sidecar)",
     kDisaggHandlerParams},
    {"pd-profile-handler", R::ProfileHandler, S::Mapped, "disaggregation, as disagg-profile-handler (its older name)",
     kPdHandlerParams},
    {"data-parallel-profile-handler",
     R::ProfileHandler,
     S::Refused,
     "ringgate does not route to data-parallel ranks behind one pod",
     {}},
    {"header-profile-handler",
     R::ProfileHandler,
     S::Refused,
     "ringgate runs one scheduling profile (no choice of profile by a request header)",
     {}},
    // deciders, headers handlers
    {"prefix-based-pd-decider", R::Decider, S::Same,
     "disaggregation.nonCachedTokens: split when the decode pick lacks at least that many prompt tokens",
     kPrefixDeciderParams},
    {"always-disagg-pd-decider",
     R::Decider,
     S::Mapped,
     "disaggregation.nonCachedTokens 1: every prompt with an uncached token is prefilled first",
     {}},
    {"always-disagg-multimodal-decider", R::Decider, S::Refused, "ringgate has no encode stage", {}},
    {"disagg-headers-handler",
     R::HeadersHandler,
     S::Mapped,
     "EPP mode: ringgate sets x-prefiller-host-port; gateway mode: ringgate sends the prefill leg itself",
     {}},
    {"prefill-header-handler", R::HeadersHandler, S::Mapped, "as disagg-headers-handler (its older name)", {}},
    // producers
    {"approx-prefix-cache-producer", R::Producer, S::Same, "ringgate's approximate prefix index",
     kApproxProducerParams},
    {"inflight-load-producer", R::Producer, S::Same, "ringgate's in-flight counts (requests, tokens) of every endpoint",
     kInflightParams},
    {"token-producer", R::Producer, S::Mapped,
     "ringgate's prompt token count: scheduler.scorers.prefix.tokenizer (sim-bytes estimate or tokenizer.json)",
     kTokenProducerParams},
    {"tokenizer", R::Producer, S::Mapped, "as token-producer (its older name, which llm-d's guides still write)",
     kTokenProducerParams},
    {"precise-prefix-cache-producer", R::Producer, S::Mapped,
     "scheduler.scorers.prefix mode precise: vLLM's KV events (kvEvents)", kPreciseProducerParams},
    {"predicted-latency-producer", R::Producer, S::Mapped,
     "ringgate's online latency model (what latency-scorer and the SLO pick read)", kPredictedLatencyParams},
    {"burst-prefix-cache-producer",
     R::Producer,
     S::Refused,
     "ringgate does not spread a burst of one new prefix over several servers",
     {}},
    {"p2p-source-producer", R::Producer, S::Refused, "ringgate does not pick a KV-transfer source server", {}},
    {"mm-embeddings-cache-producer",
     R::Producer,
     S::Refused,
     "ringgate keeps no multimodal embeddings cache index",
     {}},
    // data layer
    {"metrics-data-source", R::DataSource, S::Mapped,
     "ringgate scrapes each endpoint's /metrics itself (metrics.pollInterval)", kMetricsSourceParams},
    {"core-metrics-extractor",
     R::Extractor,
     S::Mapped,
     "ringgate reads vLLM's queue, KV-usage and LoRA families from each scrape",
     {}},
    {"endpoint-notification-source",
     R::DataSource,
     S::Mapped,
     "ringgate's pool discovery tells its indexes when endpoints come and go",
     {}},
    {"dcgm-data-source", R::DataSource, S::Refused, "ringgate reads no GPU (DCGM) metrics", {}},
    {"dcgm-extractor", R::Extractor, S::Refused, "ringgate reads no GPU (DCGM) metrics", {}},
    {"topology-extractor", R::Extractor, S::Refused, "ringgate reads no topology of the servers", {}},
    {"file-discovery",
     R::Discovery,
     S::Refused,
     "ringgate's pool comes from pool.discovery (a static list or Kubernetes), not a watched file",
     {}},
    // parsers
    {"openai-parser", R::Parser, S::Same, "ringgate's OpenAI request parser", {}},
    {"vllmhttp-parser", R::Parser, S::Mapped, "ringgate's OpenAI request parser (vLLM's HTTP API is OpenAI's)", {}},
    {"passthrough-parser",
     R::Parser,
     S::Mapped,
     "ringgate's parser: a body that is not OpenAI JSON is forwarded as is and routed by load",
     {}},
    {"vllmgrpc-parser", R::Parser, S::Refused, "ringgate speaks HTTP to servers, not vLLM's gRPC", {}},
    // flow control
    {"utilization-detector", R::SaturationDetector, S::Same, "saturationDetector (GAIE's detector)",
     kUtilizationParams},
    {"concurrency-detector", R::SaturationDetector, S::Same,
     "saturationDetector.maxConcurrency (in-flight requests an endpoint)", kConcurrencyParams},
    {"fcfs-ordering-policy", R::OrderingPolicy, S::Same, "ringgate's bands queue first come, first served", {}},
    {"round-robin-fairness-policy",
     R::FairnessPolicy,
     S::Same,
     "ringgate's flow fairness: the flows of a band take turns",
     {}},
    {"program-aware-fairness", R::FairnessPolicy, S::Refused, "not implemented: ringgate's flows take turns", {}},
    {"soft-reflective-ceiling-policy", R::UsageLimitPolicy, S::Refused, "ringgate has no usage-limit policy", {}},
    {"probabilistic-admitter",
     R::Admitter,
     S::Refused,
     "not implemented: ringgate admits or queues, never by chance",
     {}},
    {"latency-slo-admitter",
     R::Admitter,
     S::Refused,
     "not implemented: ringgate does not reject a request predicted to miss its objective",
     {}},
    // request control
    {"request-attribute-reporter", R::RequestControl, S::Refused, "ringgate reports no request attributes", {}},
    {"agent-identity", R::RequestControl, S::Refused, "ringgate derives no agent identity attribute", {}},
    // llm-d's test harness
    {"mock-metrics-source", R::Harness, S::Refused, kHarness, {}},
    {"test-extractor", R::Harness, S::Refused, kHarness, {}},
    {"test-one", R::Harness, S::Refused, kHarness, {}},
    {"test-two", R::Harness, S::Refused, kHarness, {}},
    {"test-picker", R::Harness, S::Refused, kHarness, {}},
    {"test-profile-handler", R::Harness, S::Refused, kHarness, {}},
    {"test-source", R::Harness, S::Refused, kHarness, {}},
};

// ---- sections
constexpr P kTopFields[] = {
    {"apiVersion", "", "llm-d.ai/v1alpha1, llm-d.ai/v1 or inference.networking.x-k8s.io/v1alpha1"},
    {"kind", "", "EndpointPickerConfig"},
    {"metadata", "", "accepted (a name for kubectl)"}};
constexpr P kProfileFields[] = {
    {"name", "", "the profile's name ('decode' and 'prefill' with a disaggregation handler)"},
    {"plugins[].pluginRef", "", "a plugin of plugins"},
    {"plugins[].weight", "1", "a scorer's weight in scheduler.scorers (0 to 1000, fractions too)"},
};
constexpr P kDataLayerFields[] = {
    {"sources[].pluginRef", "", "a data-source plugin (mapped or refused as the plugin is)"},
    {"sources[].extractors[].pluginRef", "", "an extractor plugin"},
    {"discovery.pluginRef", "", "a discovery plugin"},
    {"injectDefaults", "true", "accepted: ringgate's scrape is always on"},
};
constexpr P kRefFields[] = {{"pluginRef", "", "a parser plugin"}};
constexpr P kRequestHandlerFields[] = {{"parsers[].pluginRef", "", "parser plugins"}};
constexpr P kSaturationFields[] = {
    {"pluginRef", "utilization-detector", "the detector plugin (its parameters)"},
    {"queueDepthThreshold", "5", "saturationDetector.queueDepthThreshold (GAIE's older form)"},
    {"kvCacheUtilThreshold", "0.8", "saturationDetector.kvCacheUtilThreshold"},
    {"metricsStalenessThreshold", "200ms", "saturationDetector.metricsStalenessThreshold"},
};
constexpr P kFlowFields[] = {
    {"maxBytes", "0 (none)", "flowControl.maxBytes (a Kubernetes quantity: 10Gi)"},
    {"maxRequests", "0 (none)", "flowControl.maxRequests"},
    {"defaultRequestTTL", "60s", "flowControl.defaultRequestTTL (llm-d's 60s when absent)"},
    {"noEndpointRequestTTL", "defaultRequestTTL", "equal to defaultRequestTTL only: ringgate has one queue TTL"},
    {"priorityBands[].priority", "", "flowControl.priorityBands[].priority"},
    {"priorityBands[].maxBytes", "1G", "flowControl.priorityBands[].maxBytes"},
    {"priorityBands[].maxRequests", "5000", "flowControl.priorityBands[].maxRequests (llm-d's 5000 when absent)"},
    {"priorityBands[].fairnessPolicyRef", "global-strict-fairness-policy", "a fairness plugin (as the plugin is)"},
    {"priorityBands[].orderingPolicyRef", "fcfs-ordering-policy", "an ordering plugin (as the plugin is)"},
    {"defaultPriorityBand.maxBytes", "1G", "flowControl.defaultPriorityBand.maxBytes"},
    {"defaultPriorityBand.maxRequests", "5000", "flowControl.defaultPriorityBand.maxRequests"},
    {"defaultPriorityBand.fairnessPolicyRef", "global-strict-fairness-policy", "a fairness plugin"},
    {"defaultPriorityBand.orderingPolicyRef", "fcfs-ordering-policy", "an ordering plugin"},
    {"usageLimitPolicyPluginRef", "static (no gating)", "a usage-limit plugin (refused: ringgate has none)"},
    {"saturationDetector.pluginRef", "utilization-detector", "the detector plugin"},
    {"saturationDetector.metricsStalenessThreshold", "200ms", "saturationDetector.metricsStalenessThreshold"},
    {"enableEviction", "false", "false only: ringgate does not evict queued requests"},
};

constexpr SectionCompat kSections[] = {
    {"(top level)", S::Same, "apiVersion and kind checked", kTopFields},
    {"plugins", S::Same, "each plugin by this table: name (default: its type), type, parameters", {}},
    {"schedulingProfiles", S::Mapped,
     "ringgate runs one profile: 'default', the only one, or with a disaggregation handler 'decode' (its "
     "'prefill' profile picks among prefill endpoints by ringgate's scorers); other multi-profile configs refused",
     kProfileFields},
    {"featureGates",
     S::Mapped,
     "flowControl: turns the flowControl section on (ringgate's flowControl.enabled); dataLayer: ringgate's "
     "scrape is always on; enableLegacyMetrics: ringgate's EPP metrics carry both name sets "
     "(metrics.names both); any other gate refused",
     {}},
    {"dataLayer", S::Mapped, "ringgate's scrape and discovery: every pluginRef checked", kDataLayerFields},
    {"parser", S::Mapped, "the parser plugin (llm-d's older form of requestHandler)", kRefFields},
    {"requestHandler", S::Mapped, "the parser plugins", kRequestHandlerFields},
    {"saturationDetector", S::Same, "saturationDetector (llm-d's older place of flowControl.saturationDetector)",
     kSaturationFields},
    {"flowControl", S::Mapped,
     "ringgate's flowControl, with llm-d's defaults; on only with featureGates flowControl, as llm-d", kFlowFields},
};

}  // namespace

std::string_view to_string(CompatStatus status) {
  switch (status) {
    case CompatStatus::Same:
      return "same";
    case CompatStatus::Mapped:
      return "mapped";
    case CompatStatus::Refused:
      return "refused";
  }
  return "?";
}

std::string_view to_string(PluginRole role) {
  static constexpr std::string_view kNames[] = {"scorer",          "filter",          "picker",
                                                "profile handler", "decider",         "headers handler",
                                                "producer",        "data source",     "extractor",
                                                "discovery",       "parser",          "saturation detector",
                                                "fairness policy", "ordering policy", "usage-limit policy",
                                                "admitter",        "request control", "test harness"};
  return kNames[size_t(role)];
}

std::span<const PluginCompat> llm_d_plugins() { return kPlugins; }
std::span<const SectionCompat> llm_d_sections() { return kSections; }

const PluginCompat* find_llm_d_plugin(std::string_view type) {
  for (const PluginCompat& p : kPlugins)
    if (p.type == type) return &p;
  return nullptr;
}

const SectionCompat* find_llm_d_section(std::string_view name) {
  for (const SectionCompat& s : kSections)
    if (s.name == name) return &s;
  return nullptr;
}

ParamMatch match_param(std::span<const CompatParam> params, std::string_view path) {
  ParamMatch best = ParamMatch::Unknown;
  for (const CompatParam& p : params) {
    const std::string_view known = p.path;
    // `path` is `known` or below it: accepted.
    if (path.starts_with(known) &&
        (path.size() == known.size() || path[known.size()] == '.' || path[known.size()] == '['))
      return ParamMatch::Accepted;
    // `path` is above `known`: go on reading below it.
    if (known.starts_with(path) && (known[path.size()] == '.' || known[path.size()] == '[')) best = ParamMatch::Partial;
  }
  return best;
}

}  // namespace ringgate::config
