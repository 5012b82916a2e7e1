// Defaults live in one place, the runtime option structs (issue 12): a config file
// that sets nothing runs exactly like no config file, and the config layer's own
// initialisers (used for range checks between fields) agree with them.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "ringgate/config/config_loader.h"
#include "ringgate/gateway/settings.h"

using namespace ringgate;

namespace {
gateway::Options flags_of(std::vector<std::string> args) {
  std::vector<char*> argv{const_cast<char*>("ringgate")};
  for (auto& a : args) argv.push_back(a.data());
  gateway::ParsedOptions parsed = gateway::parse_options(int(argv.size()), argv.data());
  REQUIRE_MESSAGE(parsed.error.empty(), parsed.error);
  return parsed.options;
}

config::ConfigSet load(std::string_view text) {
  config::LoadOptions options;
  options.pool_given_by_flags = true;  // the tests give --endpoint, as a user would
  config::LoadResult r = config::load_config_text(text, "test.yaml", options);
  std::string errors;
  for (const config::ConfigError& e : r.errors) errors += config::format_error(e) + "\n";
  REQUIRE_MESSAGE(r.ok(), errors);
  return r.config;
}

void check_same(const gateway::Settings& a, const gateway::Settings& b) {
  CHECK(a.listen.to_string() == b.listen.to_string());
  CHECK(a.admin.to_string() == b.admin.to_string());
  CHECK(a.workers == b.workers);
  CHECK(a.pool_name == b.pool_name);
  CHECK(a.prefix_block_bytes == b.prefix_block_bytes);
  CHECK(a.media_weights.image_tokens == b.media_weights.image_tokens);
  CHECK(a.media_weights.audio_tokens == b.media_weights.audio_tokens);
  CHECK(a.access_log_path == b.access_log_path);
  const proxy::ProxyOptions &p = a.proxy, &q = b.proxy;
  CHECK(p.limits.max_header_bytes == q.limits.max_header_bytes);
  CHECK(p.limits.max_body_bytes == q.limits.max_body_bytes);
  CHECK(p.header_timeout_ms == q.header_timeout_ms);
  CHECK(p.body_timeout_ms == q.body_timeout_ms);
  CHECK(p.client_idle_timeout_ms == q.client_idle_timeout_ms);
  CHECK(p.upstream_connect_timeout_ms == q.upstream_connect_timeout_ms);
  CHECK(p.upstream_first_byte_timeout_ms == q.upstream_first_byte_timeout_ms);
  CHECK(p.upstream_idle_timeout_ms == q.upstream_idle_timeout_ms);
  CHECK(p.request_timeout_ms == q.request_timeout_ms);
  CHECK(p.max_attempts == q.max_attempts);
  CHECK(p.retry_deadline_ms == q.retry_deadline_ms);
  CHECK(p.drain_timeout_ms == q.drain_timeout_ms);
  CHECK(p.access_log_ring_slots == q.access_log_ring_slots);
  CHECK(a.health.eject_after_failures == b.health.eject_after_failures);
  CHECK(a.health.eject_base_ms == b.health.eject_base_ms);
  CHECK(a.health.eject_max_ms == b.health.eject_max_ms);
  CHECK(a.pool.poll_interval == b.pool.poll_interval);
  CHECK(a.pool.scrape_timeout == b.pool.scrape_timeout);
  CHECK(ringgate::sched::weight_of(a.scheduler.weights, "queue") == ringgate::sched::weight_of(b.scheduler.weights, "queue"));
  CHECK(ringgate::sched::weight_of(a.scheduler.weights, "kv-cache") == ringgate::sched::weight_of(b.scheduler.weights, "kv-cache"));
  CHECK(ringgate::sched::weight_of(a.scheduler.weights, "prefix") == ringgate::sched::weight_of(b.scheduler.weights, "prefix"));
  CHECK(a.scheduler.stale_after == b.scheduler.stale_after);
  CHECK(a.scheduler.load_guard_factor == b.scheduler.load_guard_factor);
  CHECK(a.scheduler.load_guard_min_excess == b.scheduler.load_guard_min_excess);
  CHECK(a.scheduler.session_affinity == b.scheduler.session_affinity);
  CHECK(a.responses.max_entries == b.responses.max_entries);
  CHECK(a.responses.max_bytes == b.responses.max_bytes);
}
}  // namespace

TEST_CASE("a config with only apiVersion/kind gives the same runtime options as no config") {
  const gateway::Options flags = flags_of({"--endpoint", "127.0.0.1:8000", "--workers", "2"});
  gateway::Settings without, with;
  REQUIRE(gateway::resolve_settings(flags, nullptr, without).empty());
  const config::ConfigSet file = load("apiVersion: ringgate.io/v1\nkind: Gateway\n");
  REQUIRE(gateway::resolve_settings(flags, &file, with).empty());
  check_same(without, with);
  auto rules_without = gateway::rules_from(nullptr);
  auto rules_with = gateway::rules_from(&file);
  CHECK(rules_without->session_header == rules_with->session_header);
}

TEST_CASE("the runtime defaults are the ones that disagreed before (issue 12)") {
  gateway::Settings s;
  const config::ConfigSet file = load("apiVersion: ringgate.io/v1\nkind: Gateway\n");
  REQUIRE(gateway::resolve_settings(flags_of({"--endpoint", "127.0.0.1:8000"}), &file, s).empty());
  const proxy::ProxyOptions defaults;
  CHECK(s.proxy.upstream_connect_timeout_ms == defaults.upstream_connect_timeout_ms);
  CHECK(s.proxy.drain_timeout_ms == defaults.drain_timeout_ms);
  CHECK(s.proxy.limits.max_header_bytes == defaults.limits.max_header_bytes);
  CHECK(s.proxy.limits.max_body_bytes == defaults.limits.max_body_bytes);
  CHECK(s.scheduler.stale_after == sched::SchedulerConfig{}.stale_after);
}

TEST_CASE("the config layer's initialisers mirror the runtime defaults") {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const config::GatewayConfig g;
  const proxy::ProxyOptions p;
  const control::PoolOptions pool;
  const sched::SchedulerConfig sc;
  const proxy::PassiveHealthOptions h;
  auto ms = [](auto d) { return uint64_t(duration_cast<milliseconds>(d).count()); };
  CHECK(g.limits.max_header_bytes == p.limits.max_header_bytes);
  CHECK(g.limits.max_body_bytes == p.limits.max_body_bytes);
  CHECK(ms(g.timeouts.header_read) == p.header_timeout_ms);
  CHECK(ms(g.timeouts.client_idle) == p.client_idle_timeout_ms);
  CHECK(ms(g.timeouts.upstream_connect) == p.upstream_connect_timeout_ms);
  CHECK(ms(g.timeouts.upstream_first_byte) == p.upstream_first_byte_timeout_ms);
  CHECK(ms(g.timeouts.upstream_idle) == p.upstream_idle_timeout_ms);
  CHECK(ms(g.timeouts.request) == p.request_timeout_ms);
  CHECK(ms(g.timeouts.drain) == p.drain_timeout_ms);
  CHECK(g.retries.budget + 1 == p.max_attempts);
  CHECK(ms(g.retries.deadline) == p.retry_deadline_ms);
  CHECK(g.migration.enabled == p.migration.enabled);
  CHECK(ms(g.migration.stall_timeout) == p.migration.stall_timeout_ms);
  CHECK(g.migration.max_per_request == p.migration.max_per_request);
  CHECK(g.migration.max_tokens == p.migration.max_tokens);
  CHECK(g.disaggregation.enabled == p.disaggregation.enabled);
  CHECK(g.disaggregation.non_cached_tokens == p.disaggregation.non_cached_tokens);
  CHECK(ms(g.disaggregation.prefill_timeout) == p.disaggregation.prefill_timeout_ms);
  CHECK(ms(g.metrics.poll_interval) == ms(pool.poll_interval));
  CHECK(ms(g.metrics.scrape_timeout) == ms(pool.scrape_timeout));
  CHECK(ms(g.scheduler.metrics_stale_after) == ms(sc.stale_after));
  CHECK(ringgate::sched::weight_of(g.scheduler.scorers, "queue") == ringgate::sched::weight_of(sc.weights, "queue"));
  CHECK(ringgate::sched::weight_of(g.scheduler.scorers, "kv-cache") == ringgate::sched::weight_of(sc.weights, "kv-cache"));
  CHECK(ringgate::sched::weight_of(g.scheduler.scorers, "prefix") == ringgate::sched::weight_of(sc.weights, "prefix"));
  CHECK(g.scheduler.load_guard.ratio == sc.load_guard_factor);
  CHECK(double(g.scheduler.load_guard.min_load) == sc.load_guard_min_excess);
  CHECK(g.health.eject_after_failures == h.eject_after_failures);
  CHECK(ms(g.health.eject_base) == h.eject_base_ms);
  CHECK(ms(g.health.eject_max) == h.eject_max_ms);
}

TEST_CASE("timeouts.request is parsed into the runtime options") {
  gateway::Settings s;
  const config::ConfigSet file = load("apiVersion: ringgate.io/v1\nkind: Gateway\ntimeouts: {request: 42s}\n");
  REQUIRE(gateway::resolve_settings(flags_of({"--endpoint", "127.0.0.1:8000"}), &file, s).empty());
  CHECK(s.proxy.request_timeout_ms == 42000);
}
