// Issue 16's Gateway fields: saturationDetector (GAIE's names and defaults),
// flowControl (bands, bounds, TTL) and rateLimits, each range-checked so that
// --check-config refuses a bad value with its path.

#include <doctest/doctest.h>

#include <string>

#include "ringgate/config/config_loader.h"

using namespace ringgate::config;
using namespace std::chrono_literals;

namespace {

std::string all_errors(const LoadResult& result) {
  std::string out;
  for (const ConfigError& e : result.errors) out += format_error(e) + "\n";
  return out;
}

std::string gateway(std::string_view body) {
  return "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"127.0.0.1:8000\"]}}\n" +
         std::string(body);
}

}  // namespace

TEST_CASE("flow control fields: GAIE's defaults when absent") {
  LoadResult r = load_config_text(gateway("workers: 1\n"), "t.yaml");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  const GatewayConfig& g = r.config.gateway;
  CHECK(g.saturation_detector.queue_depth_threshold == 5);
  CHECK(g.saturation_detector.kv_cache_util_threshold == doctest::Approx(0.8));
  CHECK(g.saturation_detector.metrics_staleness_threshold == 200ms);
  CHECK_FALSE(g.flow_control.enabled);
  CHECK(g.flow_control.default_request_ttl == 30s);
  CHECK(g.rate_limits.tenant_header == "x-gateway-inference-fairness-id");
  CHECK(g.rate_limits.tokens_per_minute == 0);
}

TEST_CASE("flow control fields: every one read") {
  LoadResult r = load_config_text(gateway(R"(
saturationDetector: {queueDepthThreshold: 2, kvCacheUtilThreshold: 0.5, metricsStalenessThreshold: 150ms, maxConcurrency: 4,
                    sheddableHeadroom: 2}
flowControl:
  enabled: true
  maxBytes: 64Mi
  maxRequests: 500
  defaultRequestTTL: 5s
  defaultPriorityBand: {maxRequests: 50}
  priorityBands:
  - {priority: 10, maxRequests: 100, maxBytes: 1Mi}
  - {priority: -1, maxRequests: 8}
rateLimits: {tenantHeader: X-Tenant, tokensPerMinute: 100000, requestsPerMinute: 60, maxTenants: 500}
)"),
                                  "t.yaml");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  const GatewayConfig& g = r.config.gateway;
  CHECK(g.saturation_detector.queue_depth_threshold == 2);
  CHECK(g.saturation_detector.kv_cache_util_threshold == doctest::Approx(0.5));
  CHECK(g.saturation_detector.metrics_staleness_threshold == 150ms);
  CHECK(g.saturation_detector.max_concurrency == 4);
  CHECK(g.saturation_detector.sheddable_headroom == 2);
  CHECK(g.flow_control.enabled);
  CHECK(g.flow_control.max_bytes == 64ull << 20);
  CHECK(g.flow_control.max_requests == 500);
  CHECK(g.flow_control.default_request_ttl == 5s);
  CHECK(g.flow_control.default_band.max_requests == 50);
  REQUIRE(g.flow_control.priority_bands.size() == 2);
  CHECK(g.flow_control.priority_bands[0].priority == 10);
  CHECK(g.flow_control.priority_bands[0].max_bytes == 1ull << 20);
  CHECK(g.flow_control.priority_bands[1].priority == -1);
  CHECK(g.flow_control.priority_bands[1].max_requests == 8);
  CHECK(g.rate_limits.tenant_header == "x-tenant");  // header names compare lowercased
  CHECK(g.rate_limits.tokens_per_minute == 100000);
  CHECK(g.rate_limits.requests_per_minute == 60);
  CHECK(g.rate_limits.max_tenants == 500);
  CHECK(g.file_sets("saturationDetector"));
}

TEST_CASE("flow control fields: bad values are refused with their path") {
  struct Bad {
    const char* yaml;
    const char* path;
  };
  for (Bad bad :
       {Bad{"saturationDetector: {queueDepthThreshold: 0}\n", "saturationDetector.queueDepthThreshold"},
        Bad{"saturationDetector: {kvCacheUtilThreshold: 1.5}\n", "saturationDetector.kvCacheUtilThreshold"},
        Bad{"saturationDetector: {kvCacheUtilThreshold: 0}\n", "saturationDetector.kvCacheUtilThreshold"},
        Bad{"saturationDetector: {metricsStalenessThreshold: 0s}\n", "saturationDetector.metricsStalenessThreshold"},
        Bad{"saturationDetector: {queueDepth: 3}\n", "saturationDetector"},
        Bad{"saturationDetector: {maxConcurrency: -1}\n", "saturationDetector.maxConcurrency"},
        Bad{"saturationDetector: {sheddableHeadroom: 1}\n", "saturationDetector.sheddableHeadroom"},
        Bad{"saturationDetector: {maxConcurrency: 4, sheddableHeadroom: 4}\n", "saturationDetector.sheddableHeadroom"},
        Bad{"saturationDetector: {maxConcurrency: 4, sheddableHeadroom: -1}\n",
            "saturationDetector.sheddableHeadroom"},
        Bad{"flowControl: {enabled: maybe}\n", "flowControl.enabled"},
        Bad{"flowControl: {defaultRequestTTL: 0s}\n", "flowControl.defaultRequestTTL"},
        Bad{"flowControl: {priorityBands: [{maxRequests: 3}]}\n", "flowControl.priorityBands[0]"},
        Bad{"flowControl: {priorityBands: [{priority: 1}, {priority: 1}]}\n", "flowControl.priorityBands[1].priority"},
        Bad{"flowControl: {priorityBands: [{priority: 1, maxRequests: 0}]}\n",
            "flowControl.priorityBands[0].maxRequests"},
        Bad{"rateLimits: {tenantHeader: \"bad header\"}\n", "rateLimits.tenantHeader"},
        Bad{"rateLimits: {tokensPerMinute: -1}\n", "rateLimits.tokensPerMinute"},
        Bad{"rateLimits: {maxTenants: 0}\n", "rateLimits.maxTenants"}}) {
    LoadResult r = load_config_text(gateway(bad.yaml), "t.yaml");
    CHECK_MESSAGE(!r.ok(), bad.yaml);
    CHECK_MESSAGE(all_errors(r).find(bad.path) != std::string::npos, bad.yaml, " -> ", all_errors(r));
  }
}
