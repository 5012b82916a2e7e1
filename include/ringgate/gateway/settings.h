#pragma once
// The settings the gateway runs with: defaults < config file < command-line flags.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ringgate/config/config_set.h"
#include "ringgate/config/gateway_config.h"
#include "ringgate/control/endpoint_pool.h"
#include "ringgate/control/epp_metrics.h"
#include "ringgate/control/otlp_exporter.h"
#include "ringgate/control/shared_state.h"
#include "ringgate/control/wake_hook.h"
#include "ringgate/epp/ext_proc_tls.h"
#include "ringgate/gateway/options.h"
#include "ringgate/net/address.h"
#include "ringgate/net/tls_context.h"
#include "ringgate/proxy/passive_health.h"
#include "ringgate/proxy/proxy_options.h"
#include "ringgate/proxy/request_rules.h"
#include "ringgate/sched/prefix_hasher.h"
#include "ringgate/proxy/response_table.h"
#include "ringgate/sched/scheduler_config.h"

namespace ringgate::gateway {

struct Settings {
  net::Address listen;
  std::optional<net::TlsFiles> tls;  // HTTPS on `listen` (--tls-cert/--tls-key, listen.tls)
  net::Address admin;
  bool epp_mode = false;           // --mode / mode: epp
  net::Address epp_listen;         // ext-proc gRPC (EPP mode)
  net::Address epp_health_listen;  // grpc.health.v1 (EPP mode)
  epp::ExtProcTls epp_tls;         // the ext-proc port's TLS (EPP mode; flags only, as the Go EPP's)
  unsigned workers = 0;  // resolved: > 0
  proxy::ProxyOptions proxy;
  proxy::PassiveHealthOptions health;  // config `health`
  std::string pool_name = "vllm";
  std::vector<control::DesiredEndpoint> static_endpoints;  // flags, config, or demo servers
  // Host names among them resolved again this often (gateway::StaticResolver).
  std::chrono::milliseconds static_resolve_interval = std::chrono::seconds(30);
  std::optional<config::KubernetesDiscovery> kubernetes;
  control::PoolOptions pool;
  sched::SchedulerConfig scheduler;
  config::KvEventsConfig kv_events;  // where the pool's KV-cache events are (precise prefix mode)
  // Precise prefix mode's model tokenizer (config scheduler.scorers.prefix.tokenizer a
  // directory); null: ringgate-sim's 4-bytes rule.
  std::shared_ptr<openai::HfPromptTokenizer> prompt_tokenizer;
  size_t prefix_block_bytes = 64;
  sched::MediaWeights media_weights;  // scheduler.tokensPerImage / tokensPerAudio
  std::string io_backend = "auto";  // --io-backend / io.backend: auto | io_uring | epoll
  control::MetricNames metric_names = control::MetricNames::Both;  // --metrics-names / metrics.names
  std::string api_keys_file;  // auth.apiKeysFile; empty = no auth
  bool admin_auth = false;    // admin.auth
  control::SharedStateOptions shared_state;  // sharedState / --redis
  proxy::ResponseTableLimits responses;      // responses (live: a reload applies it)
  std::string access_log_path;  // config accessLog (enabled: its path, "-" = stdout); empty = off
  // tracing (config or OTEL_* variables; gateway/tracing_settings.h): the exporter's
  // settings, unset when tracing is off (proxy.tracing says the same to the workers).
  std::optional<control::OtlpExporterOptions> trace_export;
  // scaleFromZero.wakeUrl / wakeInterval: unset when no hook is configured.
  std::optional<control::WakeHookOptions> wake_hook;
};

// resolve_settings reads OTEL_* variables through this (std::getenv unless a test sets it).
void set_environment_for_tests(const char* (*lookup)(const char*));

// Applies `file` (may be null: no --config) and then the flags given on the command
// line. Returns an error message, or empty on success.
std::string resolve_settings(const Options& flags, const config::ConfigSet* file, Settings& out);

// The request rules (rewrites, objectives, session header) of a config.
std::unique_ptr<proxy::RequestRules> rules_from(const config::ConfigSet* file);

// The aliases clients may name in requests, for GET /v1/models.
std::vector<std::string> alias_names(const proxy::RequestRules& rules);

// "host:port" (an IPv4 literal or "localhost") as a pool member, role both; or
// "host:port=prefill|decode|both" with that role; "host:port,port2,..." (up to 8 ports,
// each once): one data-parallel rank per port, in that order (the pool members appended).
bool parse_endpoint(std::string_view text, std::vector<control::DesiredEndpoint>& out);

// `d` as pool members: itself, or one per port of `ports` when it has several (the rank
// of each its position), sharing d's host and pod.
void append_ranks(std::vector<control::DesiredEndpoint>& out, control::DesiredEndpoint d,
                  const std::vector<uint16_t>& ports);

}  // namespace ringgate::gateway
