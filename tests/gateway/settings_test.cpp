// The settings the gateway runs with: defaults < config file < command-line flags,
// field by field (a flag overrides only what it names; the file only what it sets).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ringgate/config/config_loader.h"
#include "ringgate/gateway/options.h"
#include "ringgate/gateway/settings.h"

using namespace ringgate;

namespace {

gateway::Options flags(std::vector<std::string> args) {
  args.insert(args.begin(), "ringgate");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  auto parsed = gateway::parse_options(int(argv.size()), argv.data());
  REQUIRE_MESSAGE(parsed.error.empty(), parsed.error);
  return parsed.options;
}

config::ConfigSet file(std::string_view yaml) {
  auto loaded = config::load_config_text(yaml, "settings_test.yaml");
  REQUIRE(loaded.ok());
  return loaded.config;
}

gateway::Settings resolve(const gateway::Options& o, const config::ConfigSet* f) {
  gateway::Settings s;
  std::string error = gateway::resolve_settings(o, f, s);
  REQUIRE_MESSAGE(error.empty(), error);
  return s;
}

constexpr std::string_view kFile = R"(apiVersion: ringgate.io/v1
kind: Gateway
listen: {api: ":18080", admin: ":19090"}
workers: 3
pool: {name: vllm, discovery: {static: ["10.0.0.1:8000", "10.0.0.2:8000"]}}
limits: {maxHeaderBytes: 4096}
timeouts: {clientIdle: 5s, upstreamConnect: 250ms}
retries: {budget: 4}
)";

}  // namespace

TEST_CASE("settings: defaults when neither a file nor a flag says otherwise") {
  auto s = resolve(flags({"--endpoint", "127.0.0.1:8000"}), nullptr);
  CHECK(s.listen.port() == 8080);
  CHECK(s.admin.port() == 9090);
  CHECK(s.proxy.limits.max_header_bytes == 16 * 1024);
  CHECK(s.proxy.client_idle_timeout_ms == 60000);
  CHECK(s.proxy.max_attempts == 3);
  CHECK(s.workers >= 1);
  REQUIRE(s.static_endpoints.size() == 1);
  CHECK(s.static_endpoints[0].port == 8000);
}

TEST_CASE("settings: the file overrides the defaults it sets, and only those") {
  const auto f = file(kFile);
  auto s = resolve(flags({}), &f);
  CHECK(s.listen.port() == 18080);
  CHECK(s.admin.port() == 19090);
  CHECK(s.workers == 3);
  CHECK(s.proxy.limits.max_header_bytes == 4096);
  CHECK(s.proxy.client_idle_timeout_ms == 5000);
  CHECK(s.proxy.upstream_connect_timeout_ms == 250);
  CHECK(s.proxy.max_attempts == 5);  // budget 4 retries = 5 attempts
  CHECK(s.proxy.limits.max_body_bytes == gateway::Options{}.proxy.limits.max_body_bytes);  // not in the file
  CHECK(s.proxy.header_timeout_ms == 10000);
  CHECK(s.static_endpoints.size() == 2);
}

TEST_CASE("settings: flags override the file field by field") {
  const auto f = file(kFile);
  auto s = resolve(flags({"--listen", "127.0.0.1:28080", "--workers", "2", "--max-header-bytes", "2048",
                          "--upstream-connect-timeout-ms", "75", "--max-attempts=2"}),
                   &f);
  CHECK(s.listen.port() == 28080);
  CHECK(s.admin.port() == 19090);  // no --admin: the file's
  CHECK(s.workers == 2);
  CHECK(s.proxy.limits.max_header_bytes == 2048);
  CHECK(s.proxy.upstream_connect_timeout_ms == 75);
  CHECK(s.proxy.max_attempts == 2);
  CHECK(s.proxy.client_idle_timeout_ms == 5000);  // the file's: no flag for it given
  CHECK(s.static_endpoints.size() == 2);
  // --endpoint replaces the file's pool entirely.
  auto e = resolve(flags({"--endpoint", "127.0.0.1:9001"}), &f);
  REQUIRE(e.static_endpoints.size() == 1);
  CHECK(e.static_endpoints[0].port == 9001);
  CHECK_FALSE(e.kubernetes.has_value());
}

TEST_CASE("settings: a flag equal to its default still beats the file") {
  const auto f = file(kFile);
  auto s = resolve(flags({"--max-header-bytes", "16384", "--idle-timeout-ms", "60000"}), &f);
  CHECK(s.proxy.limits.max_header_bytes == 16384);
  CHECK(s.proxy.client_idle_timeout_ms == 60000);
}

TEST_CASE("settings: the access log ring exists only with an access log; its size from the flag") {
  const auto plain = file(kFile);
  CHECK(resolve(flags({}), &plain).proxy.access_log_ring_slots == 0);
  CHECK(resolve(flags({"--access-log-ring-slots", "8"}), &plain).proxy.access_log_ring_slots == 0);
  const auto logged = file(std::string(kFile) + "accessLog: {enabled: true, path: /tmp/ringgate-settings-test.log}\n");
  CHECK(resolve(flags({}), &logged).proxy.access_log_ring_slots == 1024);
  CHECK(resolve(flags({"--access-log-ring-slots", "8"}), &logged).proxy.access_log_ring_slots == 8);
}

TEST_CASE("settings: the prefix index budget: default, scheduler.prefixIndexMemoryBytes, then --prefix-index-bytes") {
  const auto plain = file(kFile);
  CHECK(resolve(flags({}), &plain).scheduler.prefix_index_bytes == sched::kDefaultPrefixIndexBytes);
  const auto sized = file(std::string(kFile) + "scheduler: {prefixIndexMemoryBytes: 64Mi}\n");
  CHECK(resolve(flags({}), &sized).scheduler.prefix_index_bytes == 64ull << 20);
  CHECK(resolve(flags({"--prefix-index-bytes", "32Mi"}), &sized).scheduler.prefix_index_bytes == 32ull << 20);
  CHECK(resolve(flags({"--prefix-index-bytes=2097152"}), nullptr).scheduler.prefix_index_bytes == 2ull << 20);
  // A flag equal to the default still beats the file.
  CHECK(resolve(flags({"--prefix-index-bytes", "128Mi"}), &sized).scheduler.prefix_index_bytes == 128ull << 20);
}

TEST_CASE("settings: --prefix-index-bytes refuses what the config field refuses") {
  for (const char* bad : {"0", "1048575", "1Ki", "1025Gi", "2Ti", "-5", "12MB", "", "Mi", "99999999999999999999Mi"}) {
    std::vector<std::string> args{"ringgate", "--prefix-index-bytes", bad};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    CHECK_MESSAGE(!gateway::parse_options(int(argv.size()), argv.data()).error.empty(), bad);
  }
}

TEST_CASE("settings: static endpoints keep their roles; --endpoint HOST:PORT[=ROLE]") {
  using sched::EndpointRole;
  const auto f = file(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool:
  discovery:
    static: ["10.0.0.1:8000", {address: "10.0.0.2:8000", role: prefill}, {address: "10.0.0.3:8000", role: decode}]
)");
  auto s = resolve(flags({}), &f);
  REQUIRE(s.static_endpoints.size() == 3);
  CHECK(s.static_endpoints[0].role == EndpointRole::Both);
  CHECK(s.static_endpoints[1].host == "10.0.0.2");
  CHECK(s.static_endpoints[1].role == EndpointRole::Prefill);
  CHECK(s.static_endpoints[2].role == EndpointRole::Decode);

  auto e = resolve(flags({"--endpoint", "127.0.0.1:9001", "--endpoint", "127.0.0.1:9002=prefill", "--endpoint",
                          "127.0.0.1:9003=decode", "--endpoint", "127.0.0.1:9004=both"}),
                   &f);
  REQUIRE(e.static_endpoints.size() == 4);
  CHECK(e.static_endpoints[0].role == EndpointRole::Both);
  CHECK(e.static_endpoints[1].port == 9002);
  CHECK(e.static_endpoints[1].role == EndpointRole::Prefill);
  CHECK(e.static_endpoints[2].role == EndpointRole::Decode);
  CHECK(e.static_endpoints[3].role == EndpointRole::Both);

  for (std::string bad : {"127.0.0.1:9001=prefil", "127.0.0.1:9001=", "127.0.0.1:9001=Decode", "127.0.0.1=prefill"}) {
    std::vector<char*> argv{const_cast<char*>("ringgate"), const_cast<char*>("--endpoint"), bad.data()};
    CHECK(gateway::parse_options(int(argv.size()), argv.data()).error ==
          "bad value for --endpoint: '" + bad + "' (expected HOST:PORT, HOST:PORT=ROLE (prefill, decode or both) or HOST:PORT,PORT,... (up to 8 distinct ports, one data-parallel rank each))");
  }
}

TEST_CASE("settings: data-parallel ranks from static entries and --endpoint") {
  const auto f = file(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool:
  discovery:
    static:
    - {address: "10.0.0.1:8000", targetPorts: [8000, 8001, 8002]}
    - {address: "10.0.0.2:8000", dataParallelSize: 4, role: decode}
)");
  auto s = resolve(flags({}), &f);
  REQUIRE(s.static_endpoints.size() == 4);
  for (int i = 0; i < 3; ++i) {
    CHECK(s.static_endpoints[size_t(i)].host == "10.0.0.1");
    CHECK(s.static_endpoints[size_t(i)].port == 8000 + i);
    CHECK(s.static_endpoints[size_t(i)].rank == i);
  }
  CHECK(s.static_endpoints[3].rank == -1);
  CHECK(s.static_endpoints[3].data_parallel_size == 4);
  CHECK(s.static_endpoints[3].role == sched::EndpointRole::Decode);

  auto e = resolve(flags({"--endpoint", "127.0.0.1:9001,9003,9002=prefill", "--endpoint", "127.0.0.1:9010"}), &f);
  REQUIRE(e.static_endpoints.size() == 4);
  CHECK(e.static_endpoints[2].port == 9002);
  CHECK(e.static_endpoints[2].rank == 2);
  CHECK(e.static_endpoints[2].role == sched::EndpointRole::Prefill);
  CHECK(e.static_endpoints[3].rank == -1);
  // Up to 8 distinct ports; a ninth, a repeat, an empty or non-numeric one is an error.
  std::vector<control::DesiredEndpoint> out;
  CHECK(gateway::parse_endpoint("127.0.0.1:1,2,3,4,5,6,7,8", out));
  CHECK(out.size() == 8);
  for (const char* bad : {"127.0.0.1:1,2,3,4,5,6,7,8,9", "127.0.0.1:1,1", "127.0.0.1:1,", "127.0.0.1:1,x", "127.0.0.1:1,0", "127.0.0.1:1,65536", "127.0.0.1:1,,2"}) {
    out.clear();
    CHECK_MESSAGE(!gateway::parse_endpoint(bad, out), bad);
  }
}

TEST_CASE("settings: hedging from the file over the option defaults, only what it sets") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n";
  const proxy::HedgingOptions defaults;
  const auto none = file(head);
  auto s = resolve(flags({}), &none);
  CHECK_FALSE(s.proxy.hedging.enabled);
  CHECK(s.proxy.hedging.max_extra_load == defaults.max_extra_load);
  CHECK(s.proxy.hedging.headroom == defaults.headroom);
  const auto on = file(head + "hedging: {enabled: true, maxExtraLoad: 0.02}\n");
  s = resolve(flags({}), &on);
  CHECK(s.proxy.hedging.enabled);
  CHECK(s.proxy.hedging.max_extra_load == 0.02);
  CHECK(s.proxy.hedging.headroom == defaults.headroom);
  const auto all = file(head + "hedging: {enabled: true, maxExtraLoad: 0.1, headroom: 0.5}\n");
  s = resolve(flags({}), &all);
  CHECK(s.proxy.hedging.headroom == 0.5);
}

TEST_CASE("settings: the SLO pick's headroom strategy from the file; least (llm-d's default) without it") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n";
  const auto none = file(head);
  CHECK(resolve(flags({}), &none).scheduler.headroom_strategy == sched::HeadroomStrategy::Least);
  const auto most = file(head + "scheduler: {headroomSelectionStrategy: most}\n");
  CHECK(resolve(flags({}), &most).scheduler.headroom_strategy == sched::HeadroomStrategy::Most);
  const auto least = file(head + "scheduler: {headroomSelectionStrategy: least}\n");
  CHECK(resolve(flags({}), &least).scheduler.headroom_strategy == sched::HeadroomStrategy::Least);
}

TEST_CASE("settings: the load signal's noise band, on by default, off from the file") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n";
  const auto none = file(head);
  CHECK(resolve(flags({}), &none).scheduler.local_noise_band);
  CHECK(resolve(flags({}), nullptr).scheduler.local_noise_band);
  const auto off = file(head + "scheduler: {loadSignal: {noiseBand: false}}\n");
  CHECK_FALSE(resolve(flags({}), &off).scheduler.local_noise_band);
}

TEST_CASE("settings: disaggregation from the file over the option defaults, only what it sets") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n";
  const proxy::DisaggregationOptions defaults;
  const auto none = file(head);
  auto s = resolve(flags({}), &none);
  CHECK(s.proxy.disaggregation.enabled == defaults.enabled);
  CHECK(s.proxy.disaggregation.non_cached_tokens == defaults.non_cached_tokens);
  CHECK(s.proxy.disaggregation.prefill_timeout_ms == defaults.prefill_timeout_ms);

  const auto all = file(head + "disaggregation: {enabled: true, nonCachedTokens: 2048, prefillTimeout: 2500ms}\n");
  s = resolve(flags({}), &all);
  CHECK(s.proxy.disaggregation.enabled == std::optional<bool>(true));
  CHECK(s.proxy.disaggregation.non_cached_tokens == 2048);
  CHECK(s.proxy.disaggregation.prefill_timeout_ms == 2500);

  const auto off = file(head + "disaggregation: {enabled: false}\n");
  s = resolve(flags({}), &off);
  CHECK(s.proxy.disaggregation.enabled == std::optional<bool>(false));
  CHECK(s.proxy.disaggregation.non_cached_tokens == defaults.non_cached_tokens);
}

TEST_CASE("settings: a map of scorer weights lists the scorers that run; the prefix parameters alone keep the defaults") {
  const std::string head = "apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"h:1\"]}}\n";
  auto weight = [](const gateway::Settings& s, const char* name) { return sched::weight_of(s.scheduler.weights, name); };
  const auto listed = file(head + "scheduler: {scorers: {latency: 1, prefix: 3}}\n");
  auto s = resolve(flags({}), &listed);
  CHECK(weight(s, "latency") == 1);
  CHECK(weight(s, "prefix") == 3);
  CHECK(weight(s, "queue") == 0);
  CHECK(weight(s, "kv-cache") == 0);
  CHECK(weight(s, "lora-affinity") == 0);

  const auto with_prefix_map = file(head + "scheduler: {scorers: {lora-affinity: 20, prefix: {weight: 4, mode: approximate}}}\n");
  s = resolve(flags({}), &with_prefix_map);
  CHECK(weight(s, "lora-affinity") == 20);
  CHECK(weight(s, "prefix") == 4);
  CHECK(weight(s, "queue") == 0);

  const sched::ScorerWeights defaults = sched::default_scorer_weights();
  const auto parameters_only = file(head + "scheduler: {scorers: {prefix: {weight: 5, mode: approximate}}}\n");
  s = resolve(flags({}), &parameters_only);
  CHECK(weight(s, "prefix") == 5);
  CHECK(weight(s, "queue") == sched::weight_of(defaults, "queue"));
  CHECK(weight(s, "kv-cache") == sched::weight_of(defaults, "kv-cache"));
  CHECK(weight(s, "latency") == 0);

  // Every weight listed 0: refused at load (nothing would score).
  CHECK_FALSE(config::load_config_text(head + "scheduler: {scorers: {latency: 0}}\n", "settings_test.yaml").ok());
}

TEST_CASE("settings: requests naming an unknown response wait for the other replicas only while state is shared") {
  CHECK(resolve(flags({"--endpoint", "127.0.0.1:8000"}), nullptr).proxy.response_wait_ms == 0);
  // Five of the others' syncs and 50 ms (the control loop's turns, round trips), at least
  // 2 s: the default 20 ms interval waits 2000.
  CHECK(resolve(flags({"--endpoint", "127.0.0.1:8000", "--redis", "127.0.0.1:6379"}), nullptr).proxy.response_wait_ms ==
        2000);
  auto with_interval = [](const char* interval) {
    return file(std::string(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: ["10.0.0.1:8000"]}}
sharedState: {redis: {address: "127.0.0.1:6379"}, syncInterval: )") +
                interval + "}\n");
  };
  const config::ConfigSet at_floor = with_interval("390ms"), past_floor = with_interval("391ms");
  CHECK(resolve(flags({}), &at_floor).proxy.response_wait_ms == 2000);  // the floor's boundary
  CHECK(resolve(flags({}), &past_floor).proxy.response_wait_ms == 2005);
  const config::ConfigSet f = file(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: ["10.0.0.1:8000"]}}
sharedState: {redis: {address: "127.0.0.1:6379"}, syncInterval: 100ms}
)");
  CHECK(resolve(flags({}), &f).proxy.response_wait_ms == 2000);  // 100 ms: 550, under the floor
}

TEST_CASE("settings: the response table's bounds: the table's defaults, then the file's responses") {
  const gateway::Settings none = resolve(flags({"--endpoint", "127.0.0.1:8000"}), nullptr);
  CHECK(none.responses.max_entries == 100'000);
  CHECK(none.responses.max_bytes == size_t(64) << 20);
  const config::ConfigSet one = file(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: ["10.0.0.1:8000"]}}
responses: {maxEntries: 777}
)");
  CHECK(resolve(flags({}), &one).responses.max_entries == 777);
  CHECK(resolve(flags({}), &one).responses.max_bytes == size_t(64) << 20);
  const config::ConfigSet both = file(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: ["10.0.0.1:8000"]}}
responses: {maxEntries: 5, maxBytes: 3Mi}
)");
  CHECK(resolve(flags({}), &both).responses.max_entries == 5);
  CHECK(resolve(flags({}), &both).responses.max_bytes == size_t(3) << 20);
}

TEST_CASE("settings: sessionKeys: the order reaches the rules; session affinity is off only when no key can pin") {
  auto with = [](std::string scheduler) {
    return file("apiVersion: ringgate.io/v1\nkind: Gateway\npool: {name: vllm, discovery: {static: [\"10.0.0.1:8000\"]}}\n"
                "scheduler: " + scheduler + "\n");
  };
  const config::ConfigSet defaults = with("{prefixBlockBytes: 64}");
  CHECK(resolve(flags({}), &defaults).scheduler.session_affinity);
  CHECK(gateway::rules_from(&defaults)->session_keys == sched::SessionKeyOrder{});
  const config::ConfigSet none = with("{sessionKeys: []}");
  CHECK_FALSE(resolve(flags({}), &none).scheduler.session_affinity);
  CHECK(gateway::rules_from(&none)->session_keys.empty());
  // No header named: "header" alone pins nothing; the body's keys still do.
  const config::ConfigSet header_only = with("{sessionKeys: [header], sessionHeader: \"\"}");
  CHECK_FALSE(resolve(flags({}), &header_only).scheduler.session_affinity);
  const config::ConfigSet body_keys = with("{sessionHeader: \"\"}");
  CHECK(resolve(flags({}), &body_keys).scheduler.session_affinity);
  const config::ConfigSet ordered = with("{sessionKeys: [user, prompt_cache_key]}");
  const auto rules = gateway::rules_from(&ordered);
  REQUIRE(rules->session_keys.count == 2);
  CHECK(rules->session_keys.keys[0] == sched::SessionSource::User);
  CHECK(rules->session_keys.keys[1] == sched::SessionSource::PromptCacheKey);
}
