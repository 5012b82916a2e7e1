#include "ringgate/gateway/settings.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <thread>

#include "ringgate/gateway/tracing_settings.h"

namespace ringgate::gateway {
namespace {

// The shortest wait of a request naming a response this replica has not heard of (below).
constexpr int64_t kMinResponseWaitMs = 2000;

uint32_t to_ms(std::chrono::nanoseconds d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms < 1) return 1;
  return ms > std::numeric_limits<uint32_t>::max() ? std::numeric_limits<uint32_t>::max() : uint32_t(ms);
}

std::optional<net::Address> to_address(const config::HostPort& hp) {
  std::string text = (hp.host.empty() || hp.host == "0.0.0.0" ? std::string() : hp.host) + ":" + std::to_string(hp.port);
  return net::parse_address(text);
}

// The file's saturationDetector, as the scheduler (startup) and the rules (reload) take it.
sched::SaturationConfig saturation_config(const config::SaturationDetectorConfig& d) {
  sched::SaturationConfig c;
  c.queue_depth_threshold = double(d.queue_depth_threshold);
  c.kv_cache_util_threshold = d.kv_cache_util_threshold;
  c.metrics_staleness_threshold = std::chrono::duration_cast<sched::Clock::duration>(d.metrics_staleness_threshold);
  c.max_concurrency = double(d.max_concurrency);
  c.sheddable_headroom = double(d.sheddable_headroom);
  return c;
}

// Whether any of the keys can pin a conversation (the header only when one is named).
bool sessions_possible(const sched::SessionKeyOrder& keys, const std::string& header) {
  for (size_t i = 0; i < keys.count; ++i)
    if (keys.keys[i] != sched::SessionSource::Header || !header.empty()) return true;
  return false;
}

// The leaves the file set, over the runtime defaults. The defaults live in one place,
// the runtime option structs (proxy::ProxyOptions, control::PoolOptions,
// sched::SchedulerConfig, proxy::PassiveHealthOptions, Settings); the config layer
// only says what the file set (GatewayConfig::file_sets), so a file that sets nothing
// runs exactly like no file at all.
std::string apply_file(const config::ConfigSet& file, Settings& s) {
  const config::GatewayConfig& g = file.gateway;
  auto set = [&g](std::string_view path) { return g.file_sets(path); };
  using control::Clock;
  auto clock_duration = [](std::chrono::nanoseconds d) { return std::chrono::duration_cast<Clock::duration>(d); };
  if (set("listen.api")) {
    auto a = to_address(g.listen.api);
    if (!a) return "listen.api: only IPv4 addresses are supported";
    s.listen = *a;
  }
  if (g.listen.tls) {
    s.tls = net::TlsFiles{g.listen.tls->cert_file, g.listen.tls->key_file, g.listen.tls->client_ca_file};
    s.proxy.tls_handshake_timeout_ms = to_ms(g.listen.tls->handshake_timeout);
  }
  {
    const config::Http2ListenConfig& h2 = g.listen.http2;
    s.proxy.http2_enabled = h2.enabled;
    s.proxy.http2.max_concurrent_streams = h2.max_concurrent_streams;
    s.proxy.http2.stream_window_bytes = uint32_t(h2.stream_window_bytes);
    s.proxy.http2.connection_window_bytes = uint32_t(h2.connection_window_bytes);
    s.proxy.http2.max_resets_per_second = h2.max_resets_per_second;
    s.proxy.http2.max_continuation_frames = h2.max_continuation_frames;
    s.proxy.http2.max_control_frames_per_second = h2.max_control_frames_per_second;
  }
  s.api_keys_file = g.auth.api_keys_file;
  s.admin_auth = g.admin.auth;
  if (set("listen.admin")) {
    auto a = to_address(g.listen.admin);
    if (!a) return "listen.admin: only IPv4 addresses are supported";
    s.admin = *a;
  }
  if (set("workers")) s.workers = g.workers;
  if (set("mode")) s.epp_mode = g.mode == "epp";
  if (set("listen.epp")) {
    auto a = to_address(g.listen.epp);
    if (!a) return "listen.epp: only IPv4 addresses are supported";
    s.epp_listen = *a;
  }
  if (set("listen.eppHealth")) {
    auto a = to_address(g.listen.epp_health);
    if (!a) return "listen.eppHealth: only IPv4 addresses are supported";
    s.epp_health_listen = *a;
  }
  if (set("pool.name")) s.pool_name = g.pool.name;
  for (const config::StaticEndpoint& e : g.pool.static_endpoints) {
    control::DesiredEndpoint d{e.address.host, e.address.port, true, ""};
    d.role = e.role;
    d.data_parallel_size = e.data_parallel_size;
    d.context_range = e.context_range;
    d.gateway = e.gateway;
    d.priority = e.priority;
    if (e.admin) {
      d.admin_host = e.admin->host.empty() ? "127.0.0.1" : e.admin->host;
      d.admin_port = e.admin->port;
    }
    d.admin_key_file = e.admin_key_file;
    append_ranks(s.static_endpoints, std::move(d), e.target_ports);
  }
  if (set("pool.discovery.resolveInterval"))
    s.static_resolve_interval = std::chrono::duration_cast<std::chrono::milliseconds>(g.pool.resolve_interval);
  if (set("pool.discovery.kubernetes")) s.kubernetes = g.pool.kubernetes;
  // An InferencePool names the pool: its rewrites and objectives refer to it by that name.
  if (s.kubernetes && !s.kubernetes->inference_pool.empty()) s.pool_name = s.kubernetes->inference_pool;
  // Limits and timeouts.
  proxy::ProxyOptions& p = s.proxy;
  if (set("limits.maxHeaderBytes")) p.limits.max_header_bytes = g.limits.max_header_bytes;
  if (set("limits.maxBodyBytes")) p.limits.max_body_bytes = g.limits.max_body_bytes;
  if (set("timeouts.headerRead")) p.header_timeout_ms = to_ms(g.timeouts.header_read);
  if (set("timeouts.clientIdle")) p.client_idle_timeout_ms = to_ms(g.timeouts.client_idle);
  if (set("timeouts.upstreamConnect")) p.upstream_connect_timeout_ms = to_ms(g.timeouts.upstream_connect);
  if (set("timeouts.upstreamFirstByte")) p.upstream_first_byte_timeout_ms = to_ms(g.timeouts.upstream_first_byte);
  if (set("timeouts.upstreamIdle")) p.upstream_idle_timeout_ms = to_ms(g.timeouts.upstream_idle);
  if (set("timeouts.request")) p.request_timeout_ms = g.timeouts.request.count() == 0 ? 0 : to_ms(g.timeouts.request);
  if (set("timeouts.drain")) p.drain_timeout_ms = to_ms(g.timeouts.drain);
  if (set("timeouts.upstreamReadIdle")) p.upstream_read_idle_timeout_ms = to_ms(g.timeouts.upstream_read_idle);
  if (set("timeouts.clientWrite")) p.client_write_timeout_ms = to_ms(g.timeouts.client_write);
  if (set("io.backend")) s.io_backend = g.io.backend;
  if (set("hub.maxHops")) p.max_hops = g.hub.max_hops;
  if (set("retries.budget")) p.max_attempts = g.retries.budget + 1;
  if (set("retries.deadline")) p.retry_deadline_ms = g.retries.deadline.count() == 0 ? 0 : to_ms(g.retries.deadline);
  if (set("migration.enabled")) p.migration.enabled = g.migration.enabled;
  if (set("migration.stallTimeout")) p.migration.stall_timeout_ms = to_ms(g.migration.stall_timeout);
  if (set("migration.maxPerRequest")) p.migration.max_per_request = g.migration.max_per_request;
  if (set("migration.maxTokens")) p.migration.max_tokens = g.migration.max_tokens;
  if (set("disaggregation.enabled")) p.disaggregation.enabled = g.disaggregation.enabled;
  if (set("disaggregation.nonCachedTokens")) p.disaggregation.non_cached_tokens = g.disaggregation.non_cached_tokens;
  if (set("disaggregation.prefillTimeout"))
    p.disaggregation.prefill_timeout_ms = to_ms(g.disaggregation.prefill_timeout);
  if (set("hedging.enabled")) p.hedging.enabled = g.hedging.enabled;
  if (set("hedging.maxExtraLoad")) p.hedging.max_extra_load = g.hedging.max_extra_load;
  if (set("hedging.headroom")) p.hedging.headroom = g.hedging.headroom;
  if (set("health.ejectAfterFailures")) s.health.eject_after_failures = g.health.eject_after_failures;
  if (set("health.ejectBase")) s.health.eject_base_ms = to_ms(g.health.eject_base);
  if (set("health.ejectMax")) s.health.eject_max_ms = to_ms(g.health.eject_max);
  // Control plane and scheduler.
  if (set("metrics.pollInterval")) s.pool.poll_interval = clock_duration(g.metrics.poll_interval);
  if (set("metrics.scrapeTimeout")) s.pool.scrape_timeout = clock_duration(g.metrics.scrape_timeout);
  if (set("metrics.maxLabelValues")) p.max_label_values = g.metrics.max_label_values;
  if (set("metrics.names"))
    s.metric_names = control::parse_metric_names(g.metrics.names).value_or(control::MetricNames::Both);
  // The document resolves a partial map (its defaults mirror these; see read_scheduler).
  if (set("scheduler.scorers")) s.scheduler.weights = g.scheduler.scorers;
  // Parameters and filters: the config's defaults are sched's (the same structs).
  s.scheduler.filters = g.scheduler.filters;
  s.scheduler.prefix_affinity = g.scheduler.prefix_affinity;
  s.scheduler.token_load = g.scheduler.token_load;
  s.scheduler.active_request = g.scheduler.active_request;
  s.scheduler.no_hit_lru = g.scheduler.no_hit_lru;
  if (set("scheduler.metricsStaleAfter"))
    s.scheduler.stale_after = std::chrono::duration_cast<sched::Clock::duration>(g.scheduler.metrics_stale_after);
  if (set("scheduler.loadGuard.ratio")) s.scheduler.load_guard_factor = g.scheduler.load_guard.ratio;
  if (set("scheduler.loadGuard.minLoad")) s.scheduler.load_guard_min_excess = double(g.scheduler.load_guard.min_load);
  if (set("scheduler.loadGuard.enabled") && !g.scheduler.load_guard.enabled)
    s.scheduler.load_guard_factor = std::numeric_limits<double>::infinity();
  if (set("scheduler.sessionHeader") || set("scheduler.sessionKeys"))
    s.scheduler.session_affinity = sessions_possible(g.scheduler.session_keys, g.scheduler.session_header);
  if (set("scheduler.headroomSelectionStrategy"))
    s.scheduler.headroom_strategy =
        g.scheduler.headroom_strategy == "most" ? sched::HeadroomStrategy::Most : sched::HeadroomStrategy::Least;
  if (set("scheduler.prefixBlockBytes")) s.prefix_block_bytes = g.scheduler.prefix_block_bytes;
  if (set("scheduler.tokensPerImage")) s.media_weights.image_tokens = g.scheduler.tokens_per_image;
  if (set("scheduler.tokensPerAudio")) s.media_weights.audio_tokens = g.scheduler.tokens_per_audio;
  s.scheduler.precise_prefix = g.scheduler.prefix.mode == "precise";
  s.scheduler.precise_block_size = g.scheduler.prefix.block_size;
  // Precise mode's point is one true picture several replicas share: its load part is
  // shared too unless the config says otherwise.
  const std::string& signal = g.scheduler.load_signal.mode;
  s.scheduler.load_signal = signal == "shared" || (signal.empty() && s.scheduler.precise_prefix)
                                ? sched::LoadSignal::Shared
                                : sched::LoadSignal::Local;
  s.scheduler.shared_load.step = g.scheduler.load_signal.step;
  s.scheduler.shared_load.kv_step = g.scheduler.load_signal.kv_step;
  s.scheduler.local_noise_band = g.scheduler.load_signal.noise_band;
  s.scheduler.hash_seed = g.scheduler.prefix.hash_seed;
  s.scheduler.tier_weights = g.scheduler.prefix.tier_weights;
  s.scheduler.prefix_stand_down_share = g.scheduler.prefix.stand_down_share;
  s.kv_events = g.kv_events;
  if (g.shared_state.redis) {
    s.shared_state.redis_host = g.shared_state.redis->address.host;
    s.shared_state.redis_port = g.shared_state.redis->address.port;
    s.shared_state.password_file = g.shared_state.redis->password_file;
  }
  if (set("sharedState.syncInterval"))
    s.shared_state.sync_interval = std::chrono::duration_cast<std::chrono::milliseconds>(g.shared_state.sync_interval);
  s.prompt_tokenizer = g.scheduler.prefix.hf_tokenizer;
  if (set("saturationDetector")) s.scheduler.saturation = saturation_config(g.saturation_detector);
  if (set("scheduler.prefixIndexMemoryBytes")) s.scheduler.prefix_index_bytes = g.scheduler.prefix_index_memory_bytes;
  if (set("responses.maxEntries")) s.responses.max_entries = g.responses.max_entries;
  if (set("responses.maxBytes")) s.responses.max_bytes = g.responses.max_bytes;
  if (set("accessLog.enabled") && g.access_log.enabled) {
    s.access_log_path = g.access_log.path;
    s.proxy.access_log_ring_slots = 1;  // sized from the flags in resolve_settings
  }
  return {};
}

}  // namespace

void append_ranks(std::vector<control::DesiredEndpoint>& out, control::DesiredEndpoint d,
                  const std::vector<uint16_t>& ports) {
  if (ports.size() <= 1) return out.push_back(std::move(d));
  for (size_t i = 0; i < ports.size(); ++i) {
    control::DesiredEndpoint rank = d;
    rank.port = ports[i];
    rank.rank = int32_t(i);
    out.push_back(std::move(rank));
  }
}

bool parse_endpoint(std::string_view text, std::vector<control::DesiredEndpoint>& out) {
  sched::EndpointRole role = sched::EndpointRole::Both;
  if (size_t eq = text.rfind('='); eq != std::string_view::npos) {  // "host:port=prefill"
    auto parsed = sched::parse_endpoint_role(text.substr(eq + 1));
    if (!parsed) return false;
    role = *parsed;
    text = text.substr(0, eq);
  }
  // "host:8000,8001,...": the ports after the first are its ranks' (one each).
  std::vector<uint16_t> ports;
  const size_t comma = text.find(',');
  std::string_view more = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  text = text.substr(0, comma);
  auto a = net::parse_address(text);
  if (!a || a->port() == 0) return false;
  if (!more.empty() || comma != std::string_view::npos) {
    ports.push_back(a->port());
    while (true) {
      const size_t next = more.find(',');
      const std::string_view item = more.substr(0, next);
      uint32_t port = 0;
      if (item.empty() || item.size() > 5) return false;
      for (char c : item) {
        if (c < '0' || c > '9') return false;
        port = port * 10 + uint32_t(c - '0');
      }
      if (port == 0 || port > 65535 || std::find(ports.begin(), ports.end(), uint16_t(port)) != ports.end()) return false;
      ports.push_back(uint16_t(port));
      if (ports.size() > config::kMaxTargetPorts) return false;
      if (next == std::string_view::npos) break;
      more.remove_prefix(next + 1);
    }
  }
  std::string host(text.substr(0, text.rfind(':')));
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);  // "[v6]:port"
  control::DesiredEndpoint d{host.empty() ? "127.0.0.1" : host, a->port(), true, ""};
  d.role = role;
  append_ranks(out, std::move(d), ports);
  return true;
}

namespace {
const char* real_environment(const char* name) { return std::getenv(name); }
const char* (*environment_lookup)(const char*) = &real_environment;
}  // namespace

void set_environment_for_tests(const char* (*lookup)(const char*)) {
  environment_lookup = lookup ? lookup : &real_environment;
}

std::string resolve_settings(const Options& flags, const config::ConfigSet* file, Settings& s) {
  s.listen = *net::parse_address(":8080");
  s.admin = *net::parse_address(":9090");
  s.epp_listen = *net::parse_address(":9002");
  s.epp_health_listen = *net::parse_address(":9003");
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
    keep("--upstream-read-idle-timeout-ms", &proxy::ProxyOptions::upstream_read_idle_timeout_ms);
    keep("--client-write-timeout-ms", &proxy::ProxyOptions::client_write_timeout_ms);
    keep("--request-timeout-ms", &proxy::ProxyOptions::request_timeout_ms);
    keep("--max-connections", &proxy::ProxyOptions::max_connections);
    keep("--max-buffered-body-bytes", &proxy::ProxyOptions::max_buffered_body_bytes);
    if (flags.given_flag("--max-header-bytes")) s.proxy.limits.max_header_bytes = flag_proxy.limits.max_header_bytes;
    if (flags.given_flag("--max-body-bytes")) s.proxy.limits.max_body_bytes = flag_proxy.limits.max_body_bytes;
  }
  if (!flags.io_backend.empty()) s.io_backend = flags.io_backend;
  if (flags.given_flag("--listen")) s.listen = flags.listen;
  if (!flags.tls_cert.empty())  // the flags' pair replaces the file's; its clientCAFile stays
    s.tls = net::TlsFiles{flags.tls_cert, flags.tls_key, s.tls ? s.tls->client_ca_file : std::string()};
  if (s.tls) s.tls->offer_h2 = s.proxy.http2_enabled;  // ALPN offers h2 only when it is served
  // The Go EPP's port flags write the same options as ringgate's (the last one given wins).
  if (flags.given_flag("--admin") || flags.given_flag("--metrics-port")) s.admin = flags.admin;
  if (!flags.mode.empty()) s.epp_mode = flags.mode == "epp";
  if (flags.given_flag("--epp-listen") || flags.given_flag("--grpc-port")) s.epp_listen = flags.epp_listen;
  if (flags.given_flag("--epp-health-listen") || flags.given_flag("--grpc-health-port"))
    s.epp_health_listen = flags.epp_health_listen;
  s.epp_tls = flags.epp_tls;
  if (!flags.pool_name.empty()) {
    // --pool-name: the InferencePool's pods, as the Go EPP; the file's way to the API
    // server (apiServer) stays, its Service or InferencePool gives way.
    config::KubernetesDiscovery k = s.kubernetes.value_or(config::KubernetesDiscovery{});
    k.service.clear();
    k.port_name.clear();
    k.port_number = 0;
    k.inference_pool = flags.pool_name;
    if (flags.given_flag("--pool-namespace")) k.namespace_name = flags.pool_namespace;
    s.kubernetes = std::move(k);
    s.static_endpoints.clear();
    s.pool_name = flags.pool_name;
  } else if (flags.given_flag("--pool-namespace") && s.kubernetes) {
    s.kubernetes->namespace_name = flags.pool_namespace;
  }
  if (!flags.pool_group.empty() && s.kubernetes) s.kubernetes->inference_pool_group = flags.pool_group;
  if (flags.given_flag("--refresh-metrics-interval"))
    s.pool.poll_interval = std::chrono::duration_cast<control::Clock::duration>(flags.refresh_metrics_interval);
  if (flags.given_flag("--metrics-staleness-threshold"))
    s.scheduler.stale_after = std::chrono::duration_cast<sched::Clock::duration>(flags.metrics_staleness_threshold);
  if (flags.given_flag("--workers")) s.workers = flags.workers;
  if (!flags.redis.empty()) {
    auto hp = config::parse_host_port(flags.redis, false);  // checked when parsed
    s.shared_state.redis_host = hp.value->host;
    s.shared_state.redis_port = hp.value->port;
  }
  if (flags.given_flag("--prefix-index-bytes")) s.scheduler.prefix_index_bytes = flags.prefix_index_bytes;
  if (flags.given_flag("--metrics-names"))
    s.metric_names = control::parse_metric_names(flags.metrics_names).value_or(control::MetricNames::Both);
  if (!flags.endpoints.empty()) {
    // --endpoint replaces the config's pool (static or Kubernetes).
    s.static_endpoints.clear();
    s.kubernetes.reset();
    for (const std::string& e : flags.endpoints) {
      if (!parse_endpoint(e, s.static_endpoints)) return "bad --endpoint " + e;
    }
  }
  // Per worker, drained every 100 ms or once half full; only with an access log to drain into.
  s.proxy.access_log_ring_slots = s.access_log_path.empty() ? 0 : flags.access_log_ring_slots;
  {
    const uint32_t ring_slots = s.proxy.tracing.ring_slots;
    auto sets = [file](std::string_view path) { return file != nullptr && file->gateway.file_sets(path); };
    if (std::string e = resolve_tracing(file ? &file->gateway.tracing : nullptr, sets, environment_lookup,
                                        s.proxy.tracing, s.trace_export);
        !e.empty())
      return "tracing: " + e;
    s.proxy.tracing.ring_slots = ring_slots;
  }
  if (file && !file->gateway.scale_from_zero.wake_url.empty()) {
    const config::ScaleFromZeroConfig& sz = file->gateway.scale_from_zero;
    control::WakeHookOptions hook;
    if (std::string e = control::parse_wake_url(sz.wake_url, hook); !e.empty()) return "scaleFromZero.wakeUrl: " + e;
    hook.interval = std::chrono::duration_cast<std::chrono::milliseconds>(sz.wake_interval);
    s.wake_hook = std::move(hook);
  }
  s.pool.declared_models = flags.models;
  if (s.workers == 0) s.workers = std::max(1u, std::thread::hardware_concurrency());
  // What another replica learns reaches this one's response table within two of their
  // syncs, two control-loop turns (10 ms) and the round trips (control/shared_responses.h):
  // a request naming a response this replica does not know waits five syncs and 50 ms, and
  // at least 2 s (a replica starved of CPU turns its loop late: 150 ms, the default
  // interval's, lost 10 of 900 turns on a loaded 2-core machine, and 500 ms a read through
  // another replica under the sanitized suite). Only a request naming an id this replica has
  // not heard of yet waits; it goes on as soon as the id arrives.
  s.proxy.response_wait_ms =
      s.shared_state.enabled()
          ? uint32_t(std::clamp<int64_t>(5 * s.shared_state.sync_interval.count() + 50, kMinResponseWaitMs, 60000))
          : 0;
  return {};
}

std::unique_ptr<proxy::RequestRules> rules_from(const config::ConfigSet* file) {
  auto rules = std::make_unique<proxy::RequestRules>();
  if (file) {
    rules->rewrites = config::RewriteTable::build(file->rewrites);
    for (const config::InferenceObjective& o : file->objectives) {
      if (o.sheddable()) rules->sheddable_objectives.insert(o.metadata.name);
      rules->objective_priorities.emplace(o.metadata.name, o.priority);
    }
    if (file->gateway.file_sets("scheduler.sessionHeader")) rules->session_header = file->gateway.scheduler.session_header;
    if (file->gateway.file_sets("scheduler.sessionKeys")) rules->session_keys = file->gateway.scheduler.session_keys;
    const config::GatewayConfig& g = file->gateway;
    // Saturation detector and flow control: hot-reloaded with the rest of the rules.
    rules->flow.saturation = saturation_config(g.saturation_detector);
    const config::FlowControlConfig& fc = g.flow_control;
    rules->flow.enabled = fc.enabled;
    proxy::FlowLimits& limits = rules->flow.limits;
    auto or_unbounded = [](uint64_t v) { return v == 0 ? UINT64_MAX : v; };
    limits.total = proxy::BandLimits{or_unbounded(fc.max_requests), or_unbounded(fc.max_bytes)};
    limits.default_band = proxy::BandLimits{fc.default_band.max_requests, fc.default_band.max_bytes};
    for (const config::PriorityBandConfig& b : fc.priority_bands)
      limits.bands.emplace_back(b.priority, proxy::BandLimits{b.max_requests, b.max_bytes});
    limits.ttl_ms = uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(fc.default_request_ttl).count());
    limits.no_endpoint_ttl_ms =
        uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(fc.no_endpoint_request_ttl).count());
    rules->rate_limits.tokens_per_minute = g.rate_limits.tokens_per_minute;
    rules->rate_limits.requests_per_minute = g.rate_limits.requests_per_minute;
    rules->tenant_header = g.rate_limits.tenant_header;
  }
  return rules;
}

std::vector<std::string> alias_names(const proxy::RequestRules& rules) {
  std::vector<std::string> names;
  for (const config::ModelAlias& a : rules.rewrites.aliases()) names.push_back(a.alias);
  return names;
}

}  // namespace ringgate::gateway
