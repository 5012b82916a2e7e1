#include "ringgate/gateway/settings.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <thread>

namespace ringgate::gateway {
namespace {

uint32_t to_ms(std::chrono::nanoseconds d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms < 1) return 1;
  return ms > std::numeric_limits<uint32_t>::max() ? std::numeric_limits<uint32_t>::max() : uint32_t(ms);
}

std::optional<net::Address> to_address(const config::host_port& hp) {
  std::string text = (hp.host.empty() || hp.host == "0.0.0.0" ? std::string() : hp.host) + ":" + std::to_string(hp.port);
  return net::parse_address(text);
}

// The file's values, over the defaults (the flag parser's own defaults apply where
// the file says nothing).
std::string apply_file(const config::config_set& file, Settings& s) {
  const config::gateway_config& g = file.gateway;
  if (g.file_sets("listen.api")) {
    auto a = to_address(g.listen.api);
    if (!a) return "listen.api: only IPv4 addresses are supported";
    s.listen = *a;
  }
  if (g.file_sets("listen.admin")) {
    auto a = to_address(g.listen.admin);
    if (!a) return "listen.admin: only IPv4 addresses are supported";
    s.admin = *a;
  }
  if (g.file_sets("workers")) s.workers = g.workers;
  s.pool_name = g.pool.name;
  for (const config::host_port& hp : g.pool.static_endpoints)
    s.static_endpoints.push_back({hp.host, hp.port, true, ""});
  s.kubernetes = g.pool.kubernetes;
  // Limits and timeouts.
  proxy::ProxyOptions& p = s.proxy;
  if (g.file_sets("limits.maxHeaderBytes")) p.limits.max_header_bytes = g.limits.max_header_bytes;
  if (g.file_sets("limits.maxBodyBytes")) p.limits.max_body_bytes = g.limits.max_body_bytes;
  if (g.file_sets("timeouts.headerRead")) p.header_timeout_ms = to_ms(g.timeouts.header_read);
  if (g.file_sets("timeouts.clientIdle")) p.client_idle_timeout_ms = to_ms(g.timeouts.client_idle);
  if (g.file_sets("timeouts.upstreamConnect")) p.upstream_connect_timeout_ms = to_ms(g.timeouts.upstream_connect);
  if (g.file_sets("timeouts.upstreamFirstByte")) p.upstream_first_byte_timeout_ms = to_ms(g.timeouts.upstream_first_byte);
  if (g.file_sets("timeouts.upstreamIdle")) p.upstream_idle_timeout_ms = to_ms(g.timeouts.upstream_idle);
  if (g.file_sets("timeouts.drain")) p.drain_timeout_ms = to_ms(g.timeouts.drain);
  if (g.file_sets("retries.budget")) p.max_attempts = g.retries.budget + 1;
  if (g.file_sets("retries.deadline")) p.retry_deadline_ms = to_ms(g.retries.deadline);
  s.health.eject_after_failures = g.health.eject_after_failures;
  s.health.eject_base_ms = to_ms(g.health.eject_base);
  s.health.eject_max_ms = to_ms(g.health.eject_max);
  // Control plane and scheduler.
  s.pool.poll_interval = std::chrono::duration_cast<control::Clock::duration>(g.metrics.poll_interval);
  s.pool.scrape_timeout = std::chrono::duration_cast<control::Clock::duration>(g.metrics.scrape_timeout);
  s.metric_names = control::parse_metric_names(g.metrics.names).value_or(control::MetricNames::Both);
  s.scheduler.weights.queue = g.scheduler.scorers.queue;
  s.scheduler.weights.kv_cache = g.scheduler.scorers.kv_cache;
  s.scheduler.weights.prefix = g.scheduler.scorers.prefix;
  s.scheduler.stale_after = std::chrono::duration_cast<sched::Clock::duration>(g.scheduler.metrics_stale_after);
  if (g.scheduler.load_guard.enabled) {
    s.scheduler.load_guard_factor = g.scheduler.load_guard.ratio;
    s.scheduler.load_guard_min_excess = double(g.scheduler.load_guard.min_load);
  } else {
    s.scheduler.load_guard_factor = std::numeric_limits<double>::infinity();
  }
  s.scheduler.session_affinity = !g.scheduler.session_header.empty();
  s.prefix_block_bytes = g.scheduler.prefix_block_bytes;
  if (g.access_log.enabled) {
    s.access_log_path = g.access_log.path;
    s.proxy.access_log_ring_slots = 1024;  // per worker; drained every 100 ms
  }
  return {};
}

}  // namespace

std::optional<control::DesiredEndpoint> parse_endpoint(std::string_view text) {
  auto a = net::parse_address(text);
  if (!a || a->port() == 0) return std::nullopt;
  std::string host(text.substr(0, text.rfind(':')));
  return control::DesiredEndpoint{host.empty() ? "127.0.0.1" : host, a->port(), true, ""};
}

std::string resolve_settings(const Options& flags, const config::config_set* file, Settings& s) {
  s.listen = *net::parse_address(":8080");
  s.admin = *net::parse_address(":9090");
  s.proxy = flags.proxy;  // the flag parser's defaults, possibly overridden below
  if (file) {
    // Keep flag-given proxy values: apply the file to a copy, then restore them.
    Settings from_file = s;
    if (std::string e = apply_file(*file, from_file); !e.empty()) return e;
    const proxy::ProxyOptions flag_proxy = s.proxy;
    s = std::move(from_file);
    auto keep = [&](const char* flag, auto member) {
      if (flags.given_flag(flag)) s.proxy.*member = flag_proxy.*member;
    };
    keep("--header-timeout-ms", &proxy::ProxyOptions::header_timeout_ms);
    keep("--body-timeout-ms", &proxy::ProxyOptions::body_timeout_ms);
    keep("--idle-timeout-ms", &proxy::ProxyOptions::client_idle_timeout_ms);
    keep("--upstream-connect-timeout-ms", &proxy::ProxyOptions::upstream_connect_timeout_ms);
    keep("--upstream-first-byte-timeout-ms", &proxy::ProxyOptions::upstream_first_byte_timeout_ms);
    keep("--upstream-idle-timeout-ms", &proxy::ProxyOptions::upstream_idle_timeout_ms);
    keep("--max-attempts", &proxy::ProxyOptions::max_attempts);
    keep("--drain-timeout-ms", &proxy::ProxyOptions::drain_timeout_ms);
    if (flags.given_flag("--max-header-bytes")) s.proxy.limits.max_header_bytes = flag_proxy.limits.max_header_bytes;
    if (flags.given_flag("--max-body-bytes")) s.proxy.limits.max_body_bytes = flag_proxy.limits.max_body_bytes;
  }
  if (flags.given_flag("--listen")) s.listen = flags.listen;
  if (flags.given_flag("--admin")) s.admin = flags.admin;
  if (flags.given_flag("--workers")) s.workers = flags.workers;
  if (flags.given_flag("--metrics-names"))
    s.metric_names = control::parse_metric_names(flags.metrics_names).value_or(control::MetricNames::Both);
  if (!flags.endpoints.empty()) {
    // --endpoint replaces the config's pool (static or Kubernetes).
    s.static_endpoints.clear();
    s.kubernetes.reset();
    for (const std::string& e : flags.endpoints) {
      auto d = parse_endpoint(e);
      if (!d) return "bad --endpoint " + e;
      s.static_endpoints.push_back(*d);
    }
  }
  s.pool.declared_models = flags.models;
  if (s.workers == 0) s.workers = std::max(1u, std::thread::hardware_concurrency());
  return {};
}

std::shared_ptr<const proxy::RequestRules> rules_from(const config::config_set* file) {
  auto rules = std::make_shared<proxy::RequestRules>();
  if (file) {
    rules->rewrites = config::rewrite_table::build(file->rewrites);
    for (const config::inference_objective& o : file->objectives) {
      if (o.sheddable()) rules->sheddable_objectives.insert(o.metadata.name);
      rules->objective_priorities.emplace(o.metadata.name, o.priority);
    }
    rules->session_header = file->gateway.scheduler.session_header;
  }
  return rules;
}

std::vector<std::string> alias_names(const proxy::RequestRules& rules) {
  std::vector<std::string> names;
  for (const config::model_alias& a : rules.rewrites.aliases()) names.push_back(a.alias);
  return names;
}

}  // namespace ringgate::gateway
