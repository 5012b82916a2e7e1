// llm-d's EndpointPickerConfig sections and parameters onto ringgate's settings, each at its
// threshold (issue 69): the flowControl section's quantities, TTLs and defaults, session
// affinity's session_id strategy, the saturation detectors' arithmetic, the P/D deciders'
// nonCachedTokens and the prefix block in tokens. A value at the edge of its range loads; one
// past it is a config error naming the field's path.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "ringgate/config/config_loader.h"
#include "ringgate/config/endpoint_picker_config.h"

using namespace ringgate::config;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kHead = "apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\n";

std::string all_errors(const PickerConfigResult& r) {
  std::string out;
  for (const ConfigError& e : r.errors) out += format_error(e) + "\n";
  return out;
}

PickerConfigResult load_ok(const std::string& body) {
  PickerConfigResult r = load_picker_config_text(std::string(kHead) + body, "picker.yaml");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  CHECK(r.warnings.empty());
  return r;
}

// The first error's text without its position ("picker.yaml:L:C: EndpointPickerConfig: ").
std::string error_of(const std::string& body) {
  PickerConfigResult r = load_picker_config_text(std::string(kHead) + body, "picker.yaml");
  REQUIRE_FALSE(r.ok());
  const std::string e = format_error(r.errors.front());
  const std::string marker = "EndpointPickerConfig: ";
  const size_t at = e.find(marker);
  return at == std::string::npos ? e : e.substr(at + marker.size());
}

bool sets(const PickerConfigResult& r, std::string_view path) {
  return std::find(r.gateway.set_by_file.begin(), r.gateway.set_by_file.end(), path) != r.gateway.set_by_file.end();
}

// A flowControl section (its plugins defined), with or without the gate.
std::string flow(const std::string& section, bool gate = true) {
  return std::string(gate ? "featureGates: [flowControl]\n" : "") + "plugins: [{type: queue-scorer}]\nflowControl:\n" +
         section;
}

}  // namespace

TEST_CASE("flowControl: llm-d's defaults when a field is absent, on only with the flowControl gate") {
  PickerConfigResult r = load_ok(flow("  maxRequests: 10\n"));
  const FlowControlConfig& fc = r.gateway.flow_control;
  CHECK(fc.enabled);
  CHECK(fc.max_requests == 10);
  CHECK(fc.max_bytes == 0);                     // no global limit
  CHECK(fc.default_request_ttl == 60s);         // llm-d's, not ringgate's 30s
  CHECK(fc.default_band.max_requests == 5000);  // llm-d's, not ringgate's 1000
  CHECK(fc.default_band.max_bytes == 1'000'000'000);
  CHECK(fc.priority_bands.empty());
  CHECK(sets(r, "flowControl"));
  // The same section without the gate: read (so checked) but off, as llm-d leaves it.
  PickerConfigResult off = load_ok(flow("  maxRequests: 10\n", false));
  CHECK_FALSE(off.gateway.flow_control.enabled);
  CHECK(off.gateway.flow_control.max_requests == 10);
  // The gate alone: ringgate's flow control stays as the Gateway document has it.
  PickerConfigResult gate_only = load_ok("featureGates: [flowControl]\nplugins: [{type: queue-scorer}]\n");
  CHECK_FALSE(sets(gate_only, "flowControl"));
}

TEST_CASE("flowControl quantities: plain, decimal and binary suffixes, up to 2^64 - 1 and not one past") {
  CHECK(load_ok(flow("  maxBytes: 1k\n")).gateway.flow_control.max_bytes == 1000);
  CHECK(load_ok(flow("  maxBytes: 1Ki\n")).gateway.flow_control.max_bytes == 1024);
  CHECK(load_ok(flow("  maxBytes: 10Gi\n")).gateway.flow_control.max_bytes == 10ull << 30);
  CHECK(load_ok(flow("  maxBytes: 2M\n")).gateway.flow_control.max_bytes == 2'000'000);
  CHECK(load_ok(flow("  maxBytes: 3Ti\n")).gateway.flow_control.max_bytes == 3ull << 40);
  CHECK(load_ok(flow("  maxRequests: 0\n")).gateway.flow_control.max_requests == 0);  // no limit
  CHECK(load_ok(flow("  maxBytes: 18446744073709551615\n")).gateway.flow_control.max_bytes == UINT64_MAX);
  // 2^34 - 1 Gi fits in 64 bits; 2^34 Gi is 2^64.
  CHECK(load_ok(flow("  maxBytes: 17179869183Gi\n")).gateway.flow_control.max_bytes == (UINT64_MAX >> 30) << 30);
  CHECK(error_of(flow("  maxBytes: 17179869184Gi\n")) ==
        "flowControl.maxBytes: expected a quantity such as 100, 1k or 10Gi, got \"17179869184Gi\"");
  CHECK(error_of(flow("  maxBytes: 18446744073709551616\n")).starts_with("flowControl.maxBytes: expected a quantity"));
  CHECK(error_of(flow("  maxRequests: -1\n")).starts_with("flowControl.maxRequests: expected a quantity"));
  CHECK(error_of(flow("  maxRequests: 1x\n")).starts_with("flowControl.maxRequests: expected a quantity"));
  CHECK(error_of(flow("  maxRequests: Gi\n")).starts_with("flowControl.maxRequests: expected a quantity"));
  CHECK(error_of(flow("  maxRequests: [1]\n")) ==
        "flowControl.maxRequests: expected a quantity such as 100, 1k or 10Gi");
}

TEST_CASE("flowControl TTLs: 1ms to 1h; noEndpointRequestTTL only equal to defaultRequestTTL") {
  CHECK(load_ok(flow("  defaultRequestTTL: 1ms\n")).gateway.flow_control.default_request_ttl == 1ms);
  CHECK(load_ok(flow("  defaultRequestTTL: 1h\n")).gateway.flow_control.default_request_ttl == 1h);
  CHECK(error_of(flow("  defaultRequestTTL: 0s\n"))
            .starts_with("flowControl.defaultRequestTTL: duration 0s is out of range"));
  CHECK(error_of(flow("  defaultRequestTTL: 3600001ms\n"))
            .starts_with("flowControl.defaultRequestTTL: duration 3600001ms is out of range"));
  CHECK(load_ok(flow("  defaultRequestTTL: 20s\n  noEndpointRequestTTL: 20s\n"))
            .gateway.flow_control.default_request_ttl == 20s);
  // Absent defaultRequestTTL is llm-d's 60s, which noEndpointRequestTTL must then equal.
  CHECK(load_ok(flow("  noEndpointRequestTTL: 60s\n")).gateway.flow_control.default_request_ttl == 60s);
  CHECK(error_of(flow("  defaultRequestTTL: 20s\n  noEndpointRequestTTL: 21s\n")) ==
        "flowControl.noEndpointRequestTTL: refused unless equal to defaultRequestTTL: ringgate has one queue TTL");
}

TEST_CASE("flowControl bands: llm-d's 5000 requests a band when absent; 0 keeps the default; eviction refused") {
  PickerConfigResult r = load_ok(
      "featureGates: [flowControl]\nplugins: [{type: queue-scorer}, {type: fcfs-ordering-policy}, "
      "{type: round-robin-fairness-policy}]\nflowControl:\n  priorityBands:\n"
      "  - {priority: 10, maxBytes: 2Gi, fairnessPolicyRef: round-robin-fairness-policy}\n"
      "  - {priority: -1, maxRequests: 0, maxBytes: 0, orderingPolicyRef: fcfs-ordering-policy}\n"
      "  defaultPriorityBand: {maxRequests: 7, maxBytes: 1k}\n  enableEviction: false\n");
  const FlowControlConfig& fc = r.gateway.flow_control;
  REQUIRE(fc.priority_bands.size() == 2);
  CHECK(fc.priority_bands[0].priority == 10);
  CHECK(fc.priority_bands[0].max_bytes == 2ull << 30);
  CHECK(fc.priority_bands[0].max_requests == 5000);
  CHECK(fc.priority_bands[1].priority == -1);
  CHECK(fc.priority_bands[1].max_requests == 5000);
  CHECK(fc.priority_bands[1].max_bytes == 1'000'000'000);
  CHECK(fc.default_band.max_requests == 7);
  CHECK(fc.default_band.max_bytes == 1000);
  CHECK(load_ok(flow("  priorityBands: [{priority: 2147483647}, {priority: -2147483648}]\n"))
            .gateway.flow_control.priority_bands[1]
            .priority == INT32_MIN);
  CHECK(error_of(flow("  priorityBands: [{priority: 2147483648}]\n"))
            .starts_with("flowControl.priorityBands[0].priority: value 2147483648 is out of range"));
  CHECK(error_of(flow("  priorityBands: [{maxRequests: 1z}]\n"))
            .starts_with("flowControl.priorityBands[0].maxRequests: expected a quantity"));
  CHECK(error_of(flow("  enableEviction: true\n")) ==
        "flowControl.enableEviction: true is refused: ringgate does not evict queued requests");
  CHECK(error_of(flow("  priorityBands: [{priority: 1, maxReqs: 5}]\n"))
            .starts_with("flowControl.priorityBands[0].maxReqs: unknown parameter of flowControl"));
  // A policy reference must name a plugin of that role.
  CHECK(error_of(flow("  priorityBands: [{fairnessPolicyRef: queue-scorer}]\n")) ==
        "flowControl.priorityBands[0].fairnessPolicyRef: plugin 'queue-scorer' (type queue-scorer) is a scorer, "
        "not a fairness policy");
}

TEST_CASE("session affinity: strategy session_id onto ringgate's session header, one header source") {
  const std::string profile =
      "schedulingProfiles: [{name: default, plugins: [{pluginRef: s}, {pluginRef: queue-scorer}]}]\n";
  PickerConfigResult r = load_ok(
      "plugins:\n- {type: queue-scorer}\n- name: s\n  type: session-affinity-filter\n"
      "  parameters: {strategy: session_id}\n" +
      profile);
  CHECK(r.gateway.scheduler.session_header == "x-session-id");  // llm-d's default source
  CHECK(r.gateway.scheduler.session_keys.count == 1);
  CHECK(r.gateway.scheduler.session_keys.keys[0] == ringgate::sched::SessionSource::Header);
  CHECK(sets(r, "scheduler.sessionHeader"));
  CHECK(sets(r, "scheduler.sessionKeys"));
  r = load_ok(
      "plugins:\n- {type: queue-scorer}\n- name: s\n  type: session-affinity-scorer\n"
      "  parameters:\n    strategy: session_id\n    sessionIdConfig:\n"
      "      sources: [{header: x-conversation}]\n      evictionTtlSeconds: 600\n" +
      profile);
  CHECK(r.gateway.scheduler.session_header == "x-conversation");
  // llm-d's default strategy (a token ringgate would write on responses) is refused.
  CHECK(error_of("plugins:\n- {type: queue-scorer}\n- {name: s, type: session-affinity-filter}\n" + profile) ==
        "plugins[1]: plugin 's' (type session-affinity-filter): strategy encoded_endpoint_header is refused: "
        "ringgate writes no session token on responses; use strategy session_id");
  CHECK(error_of("plugins:\n- {type: queue-scorer}\n- name: s\n  type: session-affinity-filter\n"
                 "  parameters: {strategy: session_id, sessionIdConfig: {sources: [{header: a}, {header: b}]}}\n" +
                 profile) ==
        "plugins[1].parameters.sessionIdConfig.sources[1].header: refused: ringgate reads one "
        "session header");
  CHECK(error_of("plugins:\n- {type: queue-scorer}\n- name: s\n  type: session-affinity-filter\n"
                 "  parameters: {strategy: session_id, sessionIdConfig: {sources: [{attribute: agent}]}}\n" +
                 profile)
            .starts_with("plugins[1].parameters.sessionIdConfig.sources[0].attribute: refused"));
  CHECK(error_of("plugins:\n- {type: queue-scorer}\n- name: s\n  type: session-affinity-filter\n"
                 "  parameters: {strategy: session_id, sessionIdConfig: {sources: [{cookie: c}]}}\n" +
                 profile)
            .starts_with("plugins[1].parameters.sessionIdConfig.sources[0].cookie: unknown parameter"));
}

TEST_CASE("concurrency-detector: maxConcurrency x (1 + headroom), rounded down as llm-d's int64()") {
  auto limit = [](const std::string& params) {
    return load_ok("plugins:\n- type: concurrency-detector\n  parameters: " + params + "\n")
        .gateway.saturation_detector.max_concurrency;
  };
  CHECK(limit("{}") == 100);  // llm-d's defaults: 100, headroom 0
  CHECK(limit("{maxConcurrency: 1}") == 1);
  CHECK(limit("{maxConcurrency: 100, headroom: 0.2}") == 120);
  CHECK(limit("{maxConcurrency: 3, headroom: 0.5}") == 4);  // 4.5
  CHECK(limit("{maxConcurrency: 10, headroom: 0.1}") == 11);
  CHECK(limit("{maxConcurrency: 1000000}") == 1'000'000);
  CHECK(limit("{maxConcurrency: 1000000, headroom: 100}") == 1'000'000);  // capped
  CHECK(limit("{maxConcurrency: 2, headroom: 100}") == 202);
  CHECK(limit("{concurrencyMode: requests, maxTokenConcurrency: 5}") == 100);
  const std::string head = "plugins:\n- type: concurrency-detector\n  parameters: ";
  CHECK(error_of(head + "{maxConcurrency: 0}\n") ==
        "plugins[0].parameters.maxConcurrency: value 0 is out of range (1 to 1000000)");
  CHECK(error_of(head + "{maxConcurrency: 1000001}\n") ==
        "plugins[0].parameters.maxConcurrency: value 1000001 is out of range (1 to 1000000)");
  CHECK(error_of(head + "{headroom: -0.01}\n")
            .starts_with("plugins[0].parameters.headroom: value -0.01 is out of range"));
  CHECK(error_of(head + "{headroom: 100.5}\n")
            .starts_with("plugins[0].parameters.headroom: value 100.5 is out of range"));
  CHECK(error_of(head + "{concurrencyMode: tokens}\n") ==
        "plugins[0].parameters.concurrencyMode: only requests: ringgate counts requests in flight, not tokens");
}

TEST_CASE("utilization-detector: its thresholds at their edges; 0 keeps the default; no headroom above 0") {
  auto detector = [](const std::string& params) {
    return load_ok("plugins:\n- type: utilization-detector\n  parameters: " + params + "\n")
        .gateway.saturation_detector;
  };
  CHECK(detector("{queueDepthThreshold: 1}").queue_depth_threshold == 1);
  CHECK(detector("{queueDepthThreshold: 0}").queue_depth_threshold == 5);
  CHECK(detector("{queueDepthThreshold: 1000000000000}").queue_depth_threshold == UINT32_MAX);
  CHECK(detector("{kvCacheUtilThreshold: 1.0}").kv_cache_util_threshold == 1.0);
  CHECK(detector("{kvCacheUtilThreshold: 0.5}").kv_cache_util_threshold == 0.5);
  CHECK(detector("{metricsStalenessThreshold: 1h}").metrics_staleness_threshold == 1h);
  CHECK(detector("{headroom: 0}").queue_depth_threshold == 5);
  const std::string head = "plugins:\n- type: utilization-detector\n  parameters: ";
  CHECK(error_of(head + "{queueDepthThreshold: -1}\n")
            .starts_with("plugins[0].parameters.queueDepthThreshold: value -1 is out of range"));
  CHECK(error_of(head + "{queueDepthThreshold: 1000000000001}\n")
            .starts_with("plugins[0].parameters.queueDepthThreshold: value 1000000000001 is out of range"));
  CHECK(error_of(head + "{kvCacheUtilThreshold: 1.01}\n")
            .starts_with("plugins[0].parameters.kvCacheUtilThreshold: value 1.01 is out of range"));
  CHECK(error_of(head + "{metricsStalenessThreshold: 61m}\n")
            .starts_with("plugins[0].parameters.metricsStalenessThreshold: duration 61m is out of range"));
  CHECK(error_of(head + "{headroom: 0.1}\n") ==
        "plugins[0].parameters.headroom: refused above 0: ringgate's detector has no burst allowance");
  // The same fields under flowControl.saturationDetector (llm-d's v1 place).
  PickerConfigResult r = load_ok(
      "featureGates: [flowControl]\nplugins: [{name: u, type: utilization-detector, parameters: {queueDepthThreshold: "
      "3}}]\nflowControl:\n  saturationDetector: {pluginRef: u, metricsStalenessThreshold: 50ms}\n");
  CHECK(r.gateway.saturation_detector.queue_depth_threshold == 3);
  CHECK(r.gateway.saturation_detector.metrics_staleness_threshold == 50ms);
}

TEST_CASE("P/D deciders: nonCachedTokens 0 to 1,000,000 (0: never split), always-disagg 1, none 0") {
  auto pd = [](const std::string& decider) {
    return "plugins:\n- {type: disagg-profile-handler}\n- {type: queue-scorer}\n- {type: prefill-filter}\n"
           "- {type: decode-filter}\n" +
           decider +
           "schedulingProfiles:\n- {name: prefill, plugins: [{pluginRef: prefill-filter}, {pluginRef: queue-scorer}]}\n"
           "- {name: decode, plugins: [{pluginRef: decode-filter}, {pluginRef: queue-scorer}]}\n";
  };
  auto tokens = [&](const std::string& decider) {
    return load_ok(pd(decider)).gateway.disaggregation.non_cached_tokens;
  };
  CHECK(tokens("") == 0);  // no decider: llm-d never splits
  CHECK(tokens("- {type: prefix-based-pd-decider}\n") == 0);
  CHECK(tokens("- {type: prefix-based-pd-decider, parameters: {nonCachedTokens: 1}}\n") == 1);
  CHECK(tokens("- {type: prefix-based-pd-decider, parameters: {nonCachedTokens: 1000000}}\n") == 1'000'000);
  CHECK(tokens("- {type: always-disagg-pd-decider}\n") == 1);
  CHECK(error_of(pd("- {type: prefix-based-pd-decider, parameters: {nonCachedTokens: 1000001}}\n")) ==
        "plugins[4].parameters.nonCachedTokens: value 1000001 is out of range (0 to 1000000)");
  CHECK(error_of(pd("- {type: prefix-based-pd-decider, parameters: {nonCachedTokens: -1}}\n")) ==
        "plugins[4].parameters.nonCachedTokens: value -1 is out of range (0 to 1000000)");
  // pd-profile-handler's older threshold.
  const std::string old =
      "plugins:\n- type: pd-profile-handler\n  parameters: {threshold: THRESHOLD}\n- {type: queue-scorer}\n"
      "schedulingProfiles:\n- {name: prefill, plugins: [{pluginRef: queue-scorer}]}\n"
      "- {name: decode, plugins: [{pluginRef: queue-scorer}]}\n";
  auto with = [&](std::string_view t) {
    std::string s = old;
    s.replace(s.find("THRESHOLD"), 9, t);
    return s;
  };
  CHECK(load_ok(with("1000000")).gateway.disaggregation.non_cached_tokens == 1'000'000);
  CHECK(error_of(with("1000001")) == "plugins[0].parameters.threshold: value 1000001 is out of range (0 to 1000000)");
}

TEST_CASE("blockSizeTokens: 4 bytes a token, 1 to 262144 tokens") {
  auto block = [](const std::string& type, const std::string& n) {
    return load_ok("plugins:\n- type: " + type + "\n  parameters: {blockSizeTokens: " + n + "}\n")
        .gateway.scheduler.prefix_block_bytes;
  };
  for (const std::string type : {"prefix-cache-scorer", "approx-prefix-cache-producer"}) {
    CAPTURE(type);
    CHECK(block(type, "1") == 4);
    CHECK(block(type, "16") == 64);
    CHECK(block(type, "262144") == 1u << 20);
    CHECK(error_of("plugins:\n- type: " + type + "\n  parameters: {blockSizeTokens: 262145}\n") ==
          "plugins[0].parameters.blockSizeTokens: value 262145 is out of range (1 to 262144)");
    CHECK(error_of("plugins:\n- type: " + type + "\n  parameters: {blockSizeTokens: 0}\n") ==
          "plugins[0].parameters.blockSizeTokens: value 0 is out of range (1 to 262144)");
  }
  // blockSize is characters: taken as bytes.
  CHECK(load_ok("plugins:\n- type: prefix-cache-scorer\n  parameters: {blockSize: 1048576}\n")
            .gateway.scheduler.prefix_block_bytes == 1u << 20);
  CHECK(error_of("plugins:\n- type: prefix-cache-scorer\n  parameters: {blockSize: 1048577}\n") ==
        "plugins[0].parameters.blockSize: value 1048577 is out of range (1 to 1048576)");
}

TEST_CASE("context-length-aware: its weight onto scheduler.scorers.context-length; enableFiltering the filter") {
  using ringgate::sched::kContextLengthFilterSlot;
  auto with = [](const std::string& params) {
    return load_ok("plugins:\n- {type: queue-scorer}\n- type: context-length-aware\n  parameters: " + params +
                   "\nschedulingProfiles:\n- name: default\n  plugins: [{pluginRef: queue-scorer}, "
                   "{pluginRef: context-length-aware, weight: 8}]\n");
  };
  PickerConfigResult r = with("{}");
  CHECK(ringgate::sched::weight_of(r.gateway.scheduler.scorers, "context-length") == 8);
  CHECK_FALSE(r.gateway.scheduler.filters[kContextLengthFilterSlot]);
  CHECK(sets(r, "scheduler.scorers.context-length"));
  CHECK(sets(r, "scheduler.filters.context-length"));
  r = with("{enableFiltering: true, label: llm-d.ai/context-length-range}");
  CHECK(r.gateway.scheduler.filters[kContextLengthFilterSlot]);
  CHECK_FALSE(with("{enableFiltering: false}").gateway.scheduler.filters[kContextLengthFilterSlot]);
  const std::string head = "plugins:\n- type: context-length-aware\n  parameters: ";
  const std::string profile = "\nschedulingProfiles: [{name: default, plugins: [{pluginRef: context-length-aware}]}]\n";
  CHECK(error_of(head + "{label: example.com/ctx}" + profile) ==
        "plugins[0].parameters.label: plugin 'context-length-aware' (type context-length-aware): only "
        "llm-d.ai/context-length-range: the label ringgate's discovery reads (a static entry's contextLengthRange)");
  CHECK(error_of(head + "{enableFiltering: maybe}" + profile).starts_with("plugins[0].parameters.enableFiltering"));
  CHECK(error_of(head + "{enableFilter: true}" + profile)
            .starts_with("plugins[0].parameters.enableFilter: unknown parameter of context-length-aware"));
}

TEST_CASE("context-length-aware in a P/D config's prefill profile: the prefill pick goes by the prompt's length") {
  PickerConfigResult r = load_ok(
      "plugins:\n- {type: disagg-profile-handler}\n- {type: prefix-based-pd-decider, parameters: {nonCachedTokens: "
      "8}}\n"
      "- {type: prefill-filter}\n- {type: decode-filter}\n- {type: prefix-cache-scorer}\n- {type: queue-scorer}\n"
      "- {type: context-length-aware, parameters: {enableFiltering: true}}\n- {type: max-score-picker}\n"
      "schedulingProfiles:\n"
      "- {name: prefill, plugins: [{pluginRef: prefill-filter}, {pluginRef: context-length-aware, weight: 2}, "
      "{pluginRef: queue-scorer}, {pluginRef: max-score-picker}]}\n"
      "- {name: decode, plugins: [{pluginRef: decode-filter}, {pluginRef: prefix-cache-scorer, weight: 3}, "
      "{pluginRef: queue-scorer}, {pluginRef: max-score-picker}]}\n");
  CHECK(r.gateway.scheduler.filters[ringgate::sched::kContextLengthFilterSlot]);
  CHECK(ringgate::sched::weight_of(r.gateway.scheduler.scorers, "context-length") == 2);
  CHECK(ringgate::sched::weight_of(r.gateway.scheduler.scorers, "prefix") == 3);
  CHECK(r.gateway.disaggregation.non_cached_tokens == 8);
}
