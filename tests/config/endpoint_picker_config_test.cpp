// GAIE's EndpointPickerConfig (the Go EPP's --config-file) read onto ringgate's Gateway
// settings (issue 34): what maps is set as a Gateway document would set it; since issue 69
// nothing is loaded around: a plugin type, parameter or field the table (llm_d_compat.h)
// lacks, and a plugin it refuses, is an error with its line.
#include "ringgate/config/endpoint_picker_config.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ringgate/config/config_loader.h"

using namespace ringgate::config;
using namespace std::chrono_literals;

namespace {

std::string all_errors(const PickerConfigResult& r) {
  std::string out;
  for (const ConfigError& e : r.errors) out += format_error(e) + "\n";
  return out;
}

PickerConfigResult load_ok(std::string_view text) {
  PickerConfigResult r = load_picker_config_text(text, "picker.yaml");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  return r;
}

std::string first_error(std::string_view text) {
  PickerConfigResult r = load_picker_config_text(text, "picker.yaml");
  REQUIRE_FALSE(r.ok());
  return format_error(r.errors.front());
}

bool warned(const PickerConfigResult& r, std::string_view part) {
  return std::any_of(r.warnings.begin(), r.warnings.end(),
                     [&](const std::string& w) { return w.find(part) != std::string::npos; });
}

constexpr std::string_view kHead = "apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\n";

// A profile sets every scorer's weight (one it leaves out weighs 0) and every filter (one it
// leaves out does not run), sorted as set_by_file.
const std::vector<std::string> kScorerPaths = [] {
  std::vector<std::string> paths;
  for (const ringgate::sched::Scorer& s : ringgate::sched::kScorers)
    paths.push_back("scheduler.scorers." + std::string(s.name));
  for (const ringgate::sched::Filter& f : ringgate::sched::kFilters)
    paths.push_back("scheduler.filters." + std::string(f.name));
  paths.push_back("scheduler.loadSignal.noiseBand");  // llm-d's queue-scorer is plain min-max
  paths.push_back("scheduler.scorers.prefix.standDownShare");  // llm-d's prefix scorers do not stand down
  std::sort(paths.begin(), paths.end());
  return paths;
}();

}  // namespace

TEST_CASE("the inferencepool chart's default-plugins.yaml: llm-d's weights, nothing to warn about") {
  PickerConfigResult r = load_picker_config_file(RINGGATE_SOURCE_DIR "/tests/epp/data/inferencepool-default-plugins.yaml");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  CHECK(r.warnings.empty());
  CHECK(ringgate::sched::weight_of(r.gateway.scheduler.scorers, "queue") == 2);
  CHECK(ringgate::sched::weight_of(r.gateway.scheduler.scorers, "kv-cache") == 2);
  CHECK(ringgate::sched::weight_of(r.gateway.scheduler.scorers, "prefix") == 3);
  CHECK(r.gateway.set_by_file == kScorerPaths);
  CHECK_FALSE(r.gateway.scheduler.load_signal.noise_band);  // llm-d's queue-scorer: no band
  CHECK(r.gateway.scheduler.prefix.stand_down_share == 0);  // llm-d's prefix scorer: at any load
  // Not listed: ringgate's default filter does not run under this profile.
  CHECK_FALSE(r.gateway.scheduler.filters[ringgate::sched::kPrefixAffinityFilterSlot]);
}

TEST_CASE("weights as GAIE gives them: 1 when the profile names none, 0 for a scorer it leaves out") {
  PickerConfigResult r = load_ok(std::string(kHead) + R"(plugins:
- {type: queue-scorer}
- {name: kv, type: kv-cache-utilization-scorer}
- {type: prefix-cache-scorer}
- {type: max-score-picker}
- {type: single-profile-handler}
schedulingProfiles:
- name: default
  plugins: [{pluginRef: kv}, {pluginRef: prefix-cache-scorer, weight: 5}, {pluginRef: max-score-picker}]
)");
  CHECK(r.warnings.empty());
  CHECK(ringgate::sched::weight_of(r.gateway.scheduler.scorers, "queue") == 0);
  CHECK(ringgate::sched::weight_of(r.gateway.scheduler.scorers, "kv-cache") == 1);
  CHECK(ringgate::sched::weight_of(r.gateway.scheduler.scorers, "prefix") == 5);

  // No profile: GAIE's default profile holds every plugin, scorers at weight 1.
  r = load_ok(std::string(kHead) + "plugins: [{type: queue-scorer}, {type: prefix-cache-scorer}]\n");
  CHECK(ringgate::sched::weight_of(r.gateway.scheduler.scorers, "queue") == 1);
  CHECK(ringgate::sched::weight_of(r.gateway.scheduler.scorers, "kv-cache") == 0);
  CHECK(ringgate::sched::weight_of(r.gateway.scheduler.scorers, "prefix") == 1);
}

TEST_CASE("prefix-cache-scorer's blockSize is the prefix block; its index bounds are accepted as the table says") {
  PickerConfigResult r = load_ok(std::string(kHead) + R"(plugins:
- type: prefix-cache-scorer
  parameters: {blockSize: 32, maxPrefixBlocksToMatch: 256, lruCapacityPerServer: 31250}
)");
  CHECK(r.gateway.scheduler.prefix_block_bytes == 32);
  CHECK(std::find(r.gateway.set_by_file.begin(), r.gateway.set_by_file.end(), "scheduler.prefixBlockBytes") !=
        r.gateway.set_by_file.end());
  CHECK(r.warnings.empty());
  CHECK(first_error(std::string(kHead) + "plugins:\n- type: prefix-cache-scorer\n  parameters: {blockSzie: 32}\n") ==
        "picker.yaml:5:16: EndpointPickerConfig: plugins[0].parameters.blockSzie: unknown parameter of "
        "prefix-cache-scorer (known: blockSizeTokens, blockSize, hashBlockSize, maxPrefixTokensToMatch, "
        "maxPrefixBlocksToMatch, lruCapacityPerServer, autoTune, prefixMatchInfoProducerName)");
  // llm-d's tokens a block: 4 characters a token.
  r = load_ok(std::string(kHead) + "plugins:\n- type: prefix-cache-scorer\n  parameters: {blockSizeTokens: 16}\n");
  CHECK(r.gateway.scheduler.prefix_block_bytes == 64);
}

TEST_CASE("nothing is ignored: unknown types, refused plugins, unknown parameters, fields and gates are errors") {
  const std::string head(kHead);
  // A typo in a type is refused, never ignored.
  CHECK(first_error(head + "plugins: [{type: queue-scorer}, {type: kv-cache-utilisation-scorer}]\n") ==
        "picker.yaml:3:40: EndpointPickerConfig: plugins[1].type: unknown plugin type \"kv-cache-utilisation-scorer\": "
        "not an llm-d plugin ringgate knows (docs/reference/llm-d-compatibility.md)");
  // A plugin ringgate refuses names itself and the reason.
  CHECK(first_error(head + "plugins: [{name: r, type: weighted-random-picker}]\n") ==
        "picker.yaml:3:11: EndpointPickerConfig: plugins[0]: plugin 'r' (type weighted-random-picker) is refused: "
        "not implemented: ringgate picks the highest score, not at random in proportion to it");
  CHECK(first_error(head + "plugins: [{type: mock-metrics-source}]\n").find("llm-d's Go test harness") !=
        std::string::npos);
  // A field below a known parameter is checked too, by its whole path.
  CHECK(first_error(head + "plugins:\n- type: precise-prefix-cache-producer\n"
                           "  parameters: {kvEventsConfig: {podDiscoveryConfig: {sockPort: 1}}}\n") ==
        "picker.yaml:5:54: EndpointPickerConfig: plugins[0].parameters.kvEventsConfig.podDiscoveryConfig.sockPort: "
        "unknown parameter of precise-prefix-cache-producer (known: tokenProcessorConfig.blockSize, "
        "tokenProcessorConfig.blockSizeTokens, tokenProcessorConfig.hashSeed, indexerConfig.kvBlockIndexConfig, "
        "indexerConfig.kvCacheBackendConfigs[].name, indexerConfig.kvCacheBackendConfigs[].weight, "
        "indexerConfig.tokenProcessorConfig.blockSize, kvEventsConfig.zmqEndpoint, "
        "kvEventsConfig.topicFilter, kvEventsConfig.concurrency, kvEventsConfig.discoverPods, "
        "kvEventsConfig.podDiscoveryConfig.socketPort, kvEventsConfig.podDiscoveryConfig.replaySocketPort, "
        "speculativeIndexing)");
  CHECK(first_error(head + "plugins: [{type: kv-cache-utilization-scorer, parameters: {x: 1}}]\n") ==
        "picker.yaml:3:60: EndpointPickerConfig: plugins[0].parameters.x: unknown parameter of "
        "kv-cache-utilization-scorer (it takes none)");
  CHECK(first_error(head + "featureGates: [prepareDataPlugins]\nplugins: []\n") ==
        "picker.yaml:3:16: EndpointPickerConfig: featureGates[0]: unknown feature gate \"prepareDataPlugins\" "
        "(ringgate knows flowControl, dataLayer, enableLegacyMetrics)");
  CHECK(first_error(head + "plugins: []\ndata: {sources: []}\n") ==
        "picker.yaml:4:1: EndpointPickerConfig: data: unknown field of EndpointPickerConfig "
        "(docs/reference/llm-d-compatibility.md)");
  CHECK(first_error(head + "plugins: []\nflowControl: {maxRequest: 5}\n") ==
        "picker.yaml:4:15: EndpointPickerConfig: flowControl.maxRequest: unknown parameter of flowControl (known: "
        "maxBytes, maxRequests, defaultRequestTTL, noEndpointRequestTTL, priorityBands[].priority, "
        "priorityBands[].maxBytes, priorityBands[].maxRequests, priorityBands[].fairnessPolicyRef, "
        "priorityBands[].orderingPolicyRef, defaultPriorityBand.maxBytes, defaultPriorityBand.maxRequests, "
        "defaultPriorityBand.fairnessPolicyRef, defaultPriorityBand.orderingPolicyRef, usageLimitPolicyPluginRef, "
        "saturationDetector.pluginRef, saturationDetector.metricsStalenessThreshold, enableEviction)");
  // Two profiles without a handler ringgate maps.
  CHECK(first_error(head + "plugins: [{type: queue-scorer}]\nschedulingProfiles:\n"
                           "- {name: a, plugins: [{pluginRef: queue-scorer}]}\n"
                           "- {name: b, plugins: [{pluginRef: queue-scorer}]}\n")
            .find("2 profiles ('a', 'b') and no profile handler ringgate maps") != std::string::npos);
  // A reference to a refused plugin is not a second error.
  PickerConfigResult r = load_picker_config_text(
      head +
          "plugins: [{type: random-picker}]\nschedulingProfiles: [{name: d, plugins: [{pluginRef: random-picker}]}]\n",
      "picker.yaml");
  CHECK(r.errors.size() == 1);
}

TEST_CASE("the precise producer's kvCacheBackendConfigs are the tier weights, the list the whole table") {
  const std::string head = std::string(kHead) +
                           "plugins:\n- type: precise-prefix-cache-producer\n  parameters:\n"
                           "    indexerConfig:\n      kvCacheBackendConfigs:\n";
  PickerConfigResult r = load_ok(head + "      - {name: gpu, weight: 1.0}\n      - {name: CPU, weight: 0.5}\n");
  const ringgate::sched::TierWeights& t = r.gateway.scheduler.prefix.tier_weights;
  REQUIRE(t.tiers.size() == 2);
  CHECK(t.slot(std::string("GPU")) == 0);
  CHECK(t.slot(std::string("cpu")) == 1);
  CHECK(t.by_slot()[1] == doctest::Approx(0.5));
  CHECK(t.slot(std::string("shared_storage")) == -1);  // left out: unknown, as in llm-d
  // Onto a config: the picker config's, unless the file set tierWeights.
  GatewayConfig g;
  apply_picker_config(r.gateway, g);
  CHECK(g.scheduler.prefix.tier_weights.tiers.size() == 2);
  CHECK(g.scheduler.prefix.mode == "precise");
  // The bounds: 0 and 1 are weights, past them an error naming the field.
  CHECK(load_ok(head + "      - {name: gpu, weight: 0}\n      - {name: cpu, weight: 1}\n")
            .gateway.scheduler.prefix.tier_weights.by_slot()[1] == doctest::Approx(1.0));
  const std::string at = "EndpointPickerConfig: plugins[0].parameters.indexerConfig.kvCacheBackendConfigs";
  auto error_at = [&](const std::string& items, const std::string& where) {
    const std::string e = first_error(head + items);
    INFO(e);
    CHECK(e.find(at + where) != std::string::npos);
  };
  error_at("      - {name: gpu, weight: 1.01}\n", "[0].weight");
  error_at("      - {name: gpu, weight: 1}\n      - {name: cpu, weight: -0.1}\n", "[1].weight");
  error_at("      - {name: gpu, weight: high}\n", "[0].weight");
  error_at("      - {name: gpu}\n", "[0]: needs a name and a weight");
  error_at("      - {name: gpu, weight: 1}\n      - {name: GPU, weight: 0.5}\n", "[1].name: names a tier twice");
  error_at("      - {name: gpu, weight: 1, tier: 0}\n", "[0].tier: unknown parameter");
  error_at("        gpu\n", ": must be a list of {name, weight}");
  std::string nine;
  for (int i = 0; i < 9; ++i) nine += "      - {name: t" + std::to_string(i) + ", weight: 0.5}\n";
  error_at(nine, "[8].name: at most 8 tiers");
  nine.resize(nine.rfind("      - "));  // 8: accepted
  CHECK(load_ok(head + nine).gateway.scheduler.prefix.tier_weights.tiers.size() == 8);
}

TEST_CASE("latency-scorer's headroomSelectionStrategy is the SLO pick's; its weights are accepted") {
  PickerConfigResult r = load_ok(std::string(kHead) + R"(plugins:
- type: latency-scorer
  parameters: {headroomSelectionStrategy: most, ttftWeight: 0.8, compositeKVWeight: 1}
)");
  CHECK(r.gateway.scheduler.headroom_strategy == "most");
  CHECK(std::find(r.gateway.set_by_file.begin(), r.gateway.set_by_file.end(), "scheduler.headroomSelectionStrategy") !=
        r.gateway.set_by_file.end());
  CHECK(r.warnings.empty());
  // A Gateway document that does not set it takes the picker's; one that sets it keeps its own.
  GatewayConfig into;
  apply_picker_config(r.gateway, into);
  CHECK(into.scheduler.headroom_strategy == "most");
  GatewayConfig document;
  document.set_by_file = {"scheduler.headroomSelectionStrategy"};
  apply_picker_config(r.gateway, document);
  CHECK(document.scheduler.headroom_strategy == "least");
  CHECK(first_error(std::string(kHead) +
                    "plugins:\n- type: latency-scorer\n  parameters: {headroomSelectionStrategy: composite-least}\n")
            .find("must be least or most (ringgate's SLO pick has no composite-* strategy)") != std::string::npos);
  CHECK(
      first_error(std::string(kHead) + "plugins:\n- type: latency-scorer\n  parameters: {headroomSelectionStrategy: "
                                       "tight}\n") ==
      "picker.yaml:5:43: EndpointPickerConfig: plugins[0].parameters.headroomSelectionStrategy: must be least or most "
      "(ringgate's SLO pick has no composite-* strategy)");
  CHECK(first_error(std::string(kHead) + "plugins:\n- type: latency-scorer\n  parameters: {sloBuffer: 1}\n")
            .find("plugins[0].parameters.sloBuffer: unknown parameter of latency-scorer (known: "
                  "headroomSelectionStrategy") != std::string::npos);
}

TEST_CASE("a profile with no scorer ringgate has leaves the weights alone") {
  PickerConfigResult r = load_ok(std::string(kHead) +
                                 "plugins: [{type: decode-filter}, {type: max-score-picker}]\n"
                                 "schedulingProfiles: [{name: default, plugins: [{pluginRef: "
                                 "decode-filter}, {pluginRef: max-score-picker}]}]\n");
  CHECK(r.gateway.set_by_file.empty());
  CHECK(r.warnings.empty());
}

TEST_CASE("saturationDetector: GAIE's names onto ringgate's; 0 or absent keeps the default") {
  PickerConfigResult r = load_ok(std::string(kHead) + "plugins: []\nsaturationDetector: {queueDepthThreshold: 8, "
                                                      "kvCacheUtilThreshold: 0, metricsStalenessThreshold: 150ms}\n");
  CHECK(r.gateway.saturation_detector.queue_depth_threshold == 8);
  CHECK(r.gateway.saturation_detector.kv_cache_util_threshold == 0.8);
  CHECK(r.gateway.saturation_detector.metrics_staleness_threshold == 150ms);
  CHECK(r.gateway.set_by_file ==
        std::vector<std::string>{"saturationDetector.metricsStalenessThreshold", "saturationDetector.queueDepthThreshold"});
}

TEST_CASE("what the Go EPP refuses is an error, with its line") {
  CHECK(first_error("apiVersion: ringgate.io/v1\nkind: Gateway\n") ==
        "picker.yaml:1:13: EndpointPickerConfig: apiVersion: expected llm-d.ai/v1, llm-d.ai/v1alpha1 or "
        "inference.networking.x-k8s.io/v1alpha1, got \"ringgate.io/v1\"");
  CHECK(first_error("apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: InferencePool\n") ==
        "picker.yaml:2:7: EndpointPickerConfig: kind: expected EndpointPickerConfig, got \"InferencePool\"");
  CHECK(first_error(std::string(kHead) + "plugins: [{name: a}]\n") ==
        "picker.yaml:3:11: EndpointPickerConfig: plugins[0]: plugin 'a' is missing a type");
  CHECK(first_error(std::string(kHead) + "plugins: [{type: queue-scorer}, {type: queue-scorer}]\n") ==
        "picker.yaml:3:33: EndpointPickerConfig: plugins[1]: duplicate plugin name 'queue-scorer'");
  CHECK(first_error(std::string(kHead) + "plugins: []\nschedulingProfiles: [{name: d, plugins: [{pluginRef: nope}]}]\n") ==
        "picker.yaml:4:54: EndpointPickerConfig: schedulingProfiles[0].plugins[0].pluginRef: plugin 'nope' referenced "
        "in profile 'd' is not in plugins");
  CHECK(first_error(std::string(kHead) +
                    "plugins: [{type: queue-scorer}]\nschedulingProfiles: [{name: d, plugins: [{pluginRef: queue-scorer, "
                    "weight: 1001}]}]\n")
            .find("weight: value 1001 is out of range (0 to 1000)") != std::string::npos);
  CHECK(first_error(std::string(kHead) + "plugins: [{type: queue-scorer, wieght: 2}]\n")
            .find("plugins[0].wieght: unknown field") != std::string::npos);
  CHECK(first_error("plugins: [\n").starts_with("picker.yaml:2:1: invalid YAML"));
  CHECK(first_error(",\n") == "picker.yaml:1:1: invalid YAML: unexpected ','");
  CHECK(first_error(std::string(kHead) + "---\n" + std::string(kHead)) ==
        "picker.yaml:1:1: EndpointPickerConfig: expected one document");
  CHECK(first_error("") == "picker.yaml:1:1: EndpointPickerConfig: the file is empty");
  CHECK(format_error(load_picker_config_file("/nonexistent/p.yaml").errors.front()) ==
        "/nonexistent/p.yaml: cannot open: No such file or directory");
}

TEST_CASE("under a config file: what the file sets stays the file's, the rest comes from the picker config") {
  LoadResult file = load_config_text(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool: {discovery: {static: ["127.0.0.1:8000"]}}
scheduler: {scorers: {queue: 7}}
saturationDetector: {queueDepthThreshold: 9}
)");
  REQUIRE(file.ok());
  PickerConfigResult picker = load_ok(std::string(kHead) + R"(plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: prefix-cache-scorer
  parameters: {blockSize: 128}
schedulingProfiles:
- name: default
  plugins: [{pluginRef: queue-scorer, weight: 1}, {pluginRef: kv-cache-utilization-scorer, weight: 5},
            {pluginRef: prefix-cache-scorer, weight: 6}]
saturationDetector: {queueDepthThreshold: 3, kvCacheUtilThreshold: 0.5}
)");
  GatewayConfig& g = file.config.gateway;
  apply_picker_config(picker.gateway, g);
  CHECK(ringgate::sched::weight_of(g.scheduler.scorers, "queue") == 7);     // the file's
  CHECK(ringgate::sched::weight_of(g.scheduler.scorers, "kv-cache") == 5);  // the picker config's
  CHECK(ringgate::sched::weight_of(g.scheduler.scorers, "prefix") == 6);
  CHECK(g.scheduler.prefix_block_bytes == 128);
  CHECK(g.saturation_detector.queue_depth_threshold == 9);
  CHECK(g.saturation_detector.kv_cache_util_threshold == 0.5);
  CHECK(g.file_sets("scheduler.scorers.kv-cache"));
  CHECK(g.file_sets("scheduler.prefixBlockBytes"));
  CHECK(g.file_sets("saturationDetector.kvCacheUtilThreshold"));
  CHECK_FALSE(g.scheduler.load_signal.noise_band);  // the picker's queue-scorer, as llm-d scores
  CHECK(g.scheduler.prefix.stand_down_share == 0);  // the picker's prefix scorer, as llm-d scores
  CHECK(std::is_sorted(g.set_by_file.begin(), g.set_by_file.end()));

  // No config file: the picker config's settings alone.
  GatewayConfig alone;
  apply_picker_config(picker.gateway, alone);
  CHECK(ringgate::sched::weight_of(alone.scheduler.scorers, "queue") == 1);
  CHECK(alone.file_sets("scheduler.scorers.queue"));
}

namespace {
// A warning about a plugin of one of these types ("plugin 'x' (type T) ...").
bool warned_about_any(const PickerConfigResult& r, const std::vector<std::string_view>& types) {
  for (std::string_view t : types)
    if (warned(r, "(type " + std::string(t) + ")")) return true;
  return false;
}
const std::vector<std::string_view> kBaselinePlugins = {
    "prefix-cache-affinity-filter", "token-load-scorer", "inflight-load-producer", "approx-prefix-cache-producer",
    "active-request-scorer", "no-hit-lru-scorer"};
}  // namespace

TEST_CASE("llm-d's optimized baseline (llm-d.ai/v1alpha1): the affinity filter and token-load, no warning") {
  PickerConfigResult r = load_picker_config_file(RINGGATE_SOURCE_DIR "/tests/epp/data/llm-d-optimized-baseline.yaml");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  std::string warnings;
  for (const std::string& w : r.warnings) warnings += w + "\n";
  CHECK_MESSAGE(r.warnings.empty(), warnings);
  const auto& s = r.gateway.scheduler;
  CHECK(ringgate::sched::weight_of(s.scorers, "token-load") == 1);
  for (std::string_view other : {"queue", "kv-cache", "prefix", "latency", "active-request", "no-hit-lru"})
    CHECK(ringgate::sched::weight_of(s.scorers, other) == 0);
  CHECK(s.filters[ringgate::sched::kPrefixAffinityFilterSlot]);
  CHECK(s.prefix_affinity.affinity_threshold == 0.80);
  CHECK(s.prefix_affinity.exploration_probability == 0.01);
  CHECK(s.prefix_affinity.max_ttft_penalty_ms == 5000);
  CHECK(s.token_load.queue_threshold_tokens == 4194304);
  CHECK(r.gateway.file_sets("scheduler.filters.prefix-cache-affinity"));
  CHECK(r.gateway.file_sets("scheduler.scorers.token-load.queueThresholdTokens"));

  // Onto a Gateway document that set nothing of it: every value goes over.
  GatewayConfig into;
  apply_picker_config(r.gateway, into);
  CHECK(into.scheduler.filters[ringgate::sched::kPrefixAffinityFilterSlot]);
  CHECK(ringgate::sched::weight_of(into.scheduler.scorers, "token-load") == 1);
  CHECK(into.scheduler.prefix_affinity.affinity_threshold == 0.80);
  // llm-d's filter has no load guard: ringgate's default (it yields to the guard) is off here.
  CHECK_FALSE(s.prefix_affinity.yields);
  CHECK_FALSE(into.scheduler.prefix_affinity.yields);
}

TEST_CASE("llm-d's P/D guide: active-request and no-hit-lru with their parameters, no warning about them") {
  PickerConfigResult r = load_picker_config_file(RINGGATE_SOURCE_DIR "/tests/epp/data/llm-d-pd-active-request.yaml");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  CHECK_FALSE(warned_about_any(r, kBaselinePlugins));
  CHECK(r.warnings.empty());
  // P/D is ringgate's disaggregation: the decode profile's scorers, the decider's threshold.
  CHECK(std::find(r.gateway.set_by_file.begin(), r.gateway.set_by_file.end(), "disaggregation.nonCachedTokens") !=
        r.gateway.set_by_file.end());
  const auto& s = r.gateway.scheduler;
  CHECK(ringgate::sched::weight_of(s.scorers, "prefix") == 2);
  CHECK(ringgate::sched::weight_of(s.scorers, "active-request") == 1);
  CHECK(s.active_request.idle_threshold == 2);
  CHECK(s.active_request.max_busy_score == 0.5);
  // no-hit-lru is in the prefill profile only, which ringgate does not run: not read.
  CHECK(s.no_hit_lru.lru_size == 1024);
  CHECK(ringgate::sched::weight_of(s.scorers, "no-hit-lru") == 0);
}

TEST_CASE("the baseline plugins' parameters: llm-d's fallbacks, its validation, unknown keys refused") {
  std::string head(kHead);
  // llm-d: queueThresholdTokens <= 0 keeps the default; maxBusyScore out of [0, 1] keeps 1.
  PickerConfigResult r = load_ok(head + "plugins:\n- type: token-load-scorer\n  parameters: {queueThresholdTokens: 0}\n"
                                        "- type: active-request-scorer\n  parameters: {maxBusyScore: 1.5}\n");
  CHECK(r.gateway.scheduler.token_load.queue_threshold_tokens == 4194304);
  CHECK(r.gateway.scheduler.active_request.max_busy_score == 1.0);
  CHECK(first_error(head + "plugins:\n- type: prefix-cache-affinity-filter\n  parameters: {affinityThreshold: 1.5}\n")
            .find("affinityThreshold") != std::string::npos);
  CHECK(first_error(head + "plugins:\n- type: prefix-cache-affinity-filter\n  parameters: {explorationProbability: 2}\n")
            .find("explorationProbability") != std::string::npos);
  CHECK(first_error(head + "plugins:\n- type: token-load-scorer\n  parameters: {queueTokens: 5}\n")
            .find("queueTokens") != std::string::npos);
  PickerConfigResult off = load_ok(head + "plugins:\n- type: inflight-load-producer\n"
                                          "  parameters: {addEstimatedOutputTokens: false}\n- type: token-load-scorer\n");
  CHECK_FALSE(off.gateway.scheduler.token_load.add_estimated_output_tokens);
}

TEST_CASE("llm-d's precise-prefix-cache-aware guide as it writes it: the legacy tokenizer plugin, no warning") {
  PickerConfigResult r = load_picker_config_file(RINGGATE_SOURCE_DIR "/tests/epp/data/llm-d-precise-prefix-cache.yaml");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  std::string warnings;
  for (const std::string& w : r.warnings) warnings += w + "\n";
  CHECK_MESSAGE(r.warnings.empty(), warnings);
  const auto& s = r.gateway.scheduler;
  CHECK(s.prefix.mode == "precise");
  CHECK(s.prefix.block_size == 64);
  CHECK(s.prefix.hash_seed == "42");
  CHECK(ringgate::sched::weight_of(s.scorers, "prefix") == 2);
  CHECK(ringgate::sched::weight_of(s.scorers, "kv-cache") == 1);
  CHECK(ringgate::sched::weight_of(s.scorers, "queue") == 1);
  // `tokenizer` is token-producer's older name: its parameters are token-producer's.
  const std::string uds = std::string(kHead) +
                          "plugins:\n- type: tokenizer\n  parameters:\n    modelName: m\n"
                          "    udsTokenizerConfig: {socketFile: /tmp/t.sock}\n";
  load_ok(uds);
  CHECK(first_error(uds + "    useGpu: true\n").find("plugins[0].parameters.useGpu") != std::string::npos);
}
