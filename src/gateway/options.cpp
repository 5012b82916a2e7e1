#include "ringgate/gateway/options.h"

#include "ringgate/net/io_backend.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>
#include <vector>

#include "ringgate/config/duration.h"
#include "ringgate/config/host_port.h"
#include "ringgate/gateway/settings.h"
#include "ringgate/util/flag_table.h"

namespace ringgate::gateway {

namespace {

constexpr util::FlagSpec kFlags[] = {
    {"--config", "FILE", "YAML config (Gateway, InferenceModelRewrite, ...); reloaded on SIGHUP and on change"},
    {"--check-config", "FILE", "validate FILE, print every error with its line, exit 0 if valid"},
    {"--listen", "ADDR:PORT", "API listener (default :8080)"},
    {"--tls-cert", "FILE", "HTTPS on the API listener: PEM certificate chain (with --tls-key; reloaded on change)"},
    {"--tls-key", "FILE", "the certificate's PEM private key"},
    {"--admin", "ADDR:PORT",
     "admin listener: /metrics /healthz /readyz /debug/endpoints, POST /debug/pick (default :9090)"},
    {"--mode", "gateway|epp",
     "gateway (default): proxy on --listen; epp: GAIE Endpoint Picker over Envoy ext-proc gRPC"},
    {"--epp-listen", "ADDR:PORT", "EPP mode: ext-proc gRPC listener (default :9002)"},
    {"--epp-health-listen", "ADDR:PORT", "EPP mode: grpc.health.v1 listener (default :9003)"},
    {"--endpoint", "HOST:PORT[,PORT...][=ROLE]",
     "upstream vLLM server (repeatable; overrides the config's pool); ROLE prefill, decode or both (default); "
     "several ports: one data-parallel rank each, in rank order"},
    {"--model", "NAME", "a model every endpoint serves besides what its /v1/models lists (repeatable)"},
    {"--workers", "N", "worker threads (default: one per core)"},
    {"--metrics-names", "gaie|llm-d|both",
     "EPP metric names on /metrics: GAIE inference_*, llm-d llm_d_epp_*, or both (default)"},
    {"--demo", "N", "start N ringgate-sim servers and route to them"},
    {"--sim-bin", "PATH", "ringgate-sim binary for --demo (default: next to ringgate in the build tree)"},
    {"--sim-arg", "ARG", "extra argument for each demo sim (repeatable)"},
    {"--demo-model", "NAME", "model the demo sims serve (default facebook/opt-125m)"},
    {"--max-header-bytes", "N", "request head limit, 431 beyond (default 16384)"},
    {"--max-body-bytes", "N", "request body limit, 413 beyond (default 8388608)"},
    {"--header-timeout-ms", "MS", "time to receive a request head, 408 beyond (default 10000)"},
    {"--body-timeout-ms", "MS", "time to receive a request body, 408 beyond (default 60000)"},
    {"--idle-timeout-ms", "MS", "client keep-alive idle timeout (default 60000)"},
    {"--upstream-connect-timeout-ms", "MS", "upstream connect timeout, then next endpoint / 504 (default 3000)"},
    {"--upstream-first-byte-timeout-ms", "MS", "request sent → first response byte, 504 beyond (default 300000)"},
    {"--upstream-idle-timeout-ms", "MS", "pooled upstream connection idle lifetime (default 4000, keep < 5000)"},
    {"--max-attempts", "N", "endpoints tried per request before 502 (default 3)"},
    {"--drain-timeout-ms", "MS", "on SIGTERM, time in-flight requests get (default 10000)"},
    {"--io-backend", "auto|io_uring|epoll", "event loop backend (default auto: epoll when io_uring is refused)"},
    {"--upstream-read-idle-timeout-ms", "MS", "response started → no byte for this long: cut (default 120000)"},
    {"--client-write-timeout-ms", "MS", "client takes no response bytes this long: closed (default 60000)"},
    {"--request-timeout-ms", "MS", "whole request, 504 / SSE error beyond (default 600000)"},
    {"--max-connections", "N", "client connections per worker, 503 beyond (default 16384)"},
    {"--max-buffered-body-bytes", "N", "unfinished request bytes per worker, 503 beyond (default 268435456)"},
    {"--prefix-index-bytes", "N[Ki|Mi|Gi]",
     "prefix index memory budget, 1Mi..1024Gi (config scheduler.prefixIndexMemoryBytes; default 128Mi)"},
    {"--access-log-ring-slots", "N",
     "access log records a worker holds between writes (every 100 ms, or sooner once half full; default 1024); more "
     "are dropped and counted"},
    {"--redis", "HOST:PORT", "share load between replicas through this Redis (config sharedState.redis.address)"},
    {"--help", "", "print this help"},
};

// The Go EPP's flags (GAIE v1.3 pkg/epp/server/options.go and controller-runtime's zap
// flags), so that `ringgate` runs from the inferencepool chart's args with only the
// image changed. Those ringgate does not act on are taken and warned about at start.
constexpr util::FlagSpec kEppFlags[] = {
    {"--pool-name", "NAME", "the InferencePool whose pods are the pool (pool.discovery.kubernetes.inferencePool); implies --mode epp unless --mode is given"},
    {"--pool-namespace", "NS", "its namespace (default: the pod's own)"},
    {"--pool-group", "GROUP", "its API group: inference.networking.k8s.io (v1, default) or inference.networking.x-k8s.io (v1alpha2)"},
    {"--config-file", "PATH", "GAIE EndpointPickerConfig: scorer weights, prefix blockSize, saturationDetector; what ringgate cannot honor is warned about"},
    {"--config-text", "YAML", "the same, inline"},
    {"--grpc-port", "PORT", "ext-proc gRPC port, as --epp-listen :PORT"},
    {"--grpc-health-port", "PORT", "grpc.health.v1 port, as --epp-health-listen :PORT"},
    {"--metrics-port", "PORT", "/metrics port, as --admin :PORT (the admin listener)"},
    {"--refresh-metrics-interval", "DURATION", "model-server scrape interval (metrics.pollInterval)"},
    {"--metrics-staleness-threshold", "DURATION", "older metrics are not trusted as fresh (scheduler.metricsStaleAfter)"},
    {"--total-queued-requests-metric", "SPEC", "vLLM's vllm:num_requests_waiting only; another is warned about"},
    {"--total-running-requests-metric", "SPEC", "vLLM's vllm:num_requests_running only; another is warned about"},
    {"--kv-cache-usage-percentage-metric", "SPEC", "vLLM's vllm:kv_cache_usage_perc (or vllm:gpu_cache_usage_perc) only; another is warned about"},
    {"--lora-info-metric", "SPEC", "vLLM's vllm:lora_requests_info only; another is warned about"},
    {"--cache-info-metric", "SPEC", "vLLM's vllm:cache_config_info only; another is warned about"},
    {"--model-server-metrics-path", "PATH", "/metrics only; another is warned about"},
    {"--model-server-metrics-scheme", "http|https", "http only; https is warned about"},
    {"--model-server-metrics-port", "PORT", "ignored (deprecated in GAIE): metrics are read from the pool's target port"},
    {"--model-server-metrics-https-insecure-skip-verify", "", "ignored: metrics are read over http", false, true},
    {"--ha-enable-leader-election", "", "ignored: every ringgate replica serves and is ready (no leader election)", false, true},
    {"--secure-serving", "", "serve ext-proc over TLS (default true; =false: plain text); the health port stays plain", false, true},
    {"--cert-path", "PATH", "a directory with tls.crt and tls.key for ext-proc's TLS (default: a self-signed certificate made at start)"},
    {"--enable-cert-reload", "", "re-read --cert-path's tls.crt and tls.key when they change", false, true},
    {"--health-checking", "", "ignored: grpc.health.v1 is always served", false, true},
    {"--metrics-endpoint-auth", "", "ignored: /metrics takes no authentication", false, true},
    {"--tracing", "", "ignored: ringgate emits no traces", false, true},
    {"--enable-pprof", "", "ignored: no pprof handlers", false, true},
    {"--refresh-prometheus-metrics-interval", "DURATION", "ignored: /metrics is computed when scraped"},
    {"--disable-endpoint-subset-filter", "", "ignored: the Gateway's endpoint subset hint is always honored", false, true},
    {"--v", "N", "ignored (also -v N): ringgate logs plain lines to stderr, no verbosity levels"},
    {"--zap-encoder", "json|console", "ignored: ringgate logs plain lines to stderr"},
    {"--zap-log-level", "LEVEL", "ignored: ringgate logs plain lines to stderr"},
    {"--zap-devel", "", "ignored: ringgate logs plain lines to stderr", false, true},
    {"--zap-stacktrace-level", "LEVEL", "ignored: ringgate logs plain lines to stderr"},
    {"--zap-time-encoding", "ENCODING", "ignored: ringgate logs plain lines to stderr"},
};

}  // namespace

std::span<const util::FlagSpec> gateway_flags() { return kFlags; }
std::span<const util::FlagSpec> epp_flags() { return kEppFlags; }

namespace {

// Both tables, in help order: the parser looks a flag up in this one.
const std::vector<util::FlagSpec>& all_flags() {
  static const std::vector<util::FlagSpec> all = [] {
    std::vector<util::FlagSpec> v(std::begin(kFlags), std::end(kFlags));
    v.insert(v.end(), std::begin(kEppFlags), std::end(kEppFlags));
    return v;
  }();
  return all;
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// Applies one flag to `o`; returns "" or what is wrong with the value.
std::string apply(Options& o, std::string_view arg, std::string_view value, bool takes_value) {
  auto address = [&](net::Address& out) {
    auto a = net::parse_address(value);
    if (!a) return false;
    out = *a;
    return true;
  };
  if (arg == "--prefix-index-bytes") {
    // The config field's syntax and bounds (scheduler.prefixIndexMemoryBytes).
    std::string_view digits = value;
    uint64_t unit = 1;
    for (auto [suffix, size] : {std::pair{std::string_view("Ki"), 1ull << 10}, std::pair{std::string_view("Mi"), 1ull << 20},
                                std::pair{std::string_view("Gi"), 1ull << 30}}) {
      if (digits.ends_with(suffix)) {
        digits.remove_suffix(2);
        unit = size;
        break;
      }
    }
    uint64_t count = 0;
    if (!parse_number(digits, count)) return "expected a byte size such as 134217728 or 128Mi";
    if (count > (1ull << 40) / unit || count * unit < (1ull << 20)) return "between 1Mi and 1024Gi";
    o.prefix_index_bytes = count * unit;
    return {};
  }
  uint64_t n = 0;
  const bool numeric = takes_value && parse_number(value, n);
  if (arg == "--help") {
    o.help = true;
  } else if (arg == "--config") {
    if (value.empty()) return "empty path";
    o.config_file = value;
  } else if (arg == "--check-config") {
    if (value.empty()) return "empty path";
    o.check_config_file = value;
  } else if (arg == "--tls-cert") {
    if (value.empty()) return "empty path";
    o.tls_cert = value;
  } else if (arg == "--tls-key") {
    if (value.empty()) return "empty path";
    o.tls_key = value;
  } else if (arg == "--listen") {
    if (!address(o.listen)) return "expected IPv4ADDR:PORT or :PORT";
  } else if (arg == "--admin") {
    if (!address(o.admin)) return "expected IPv4ADDR:PORT or :PORT";
  } else if (arg == "--mode") {
    if (value != "gateway" && value != "epp") return "expected gateway or epp";
    o.mode = value;
  } else if (arg == "--epp-listen") {
    if (!address(o.epp_listen)) return "expected IPv4ADDR:PORT or :PORT";
  } else if (arg == "--epp-health-listen") {
    if (!address(o.epp_health_listen)) return "expected IPv4ADDR:PORT or :PORT";
  } else if (arg == "--endpoint") {
    std::vector<control::DesiredEndpoint> members;
    if (!parse_endpoint(value, members))
      return "expected HOST:PORT, HOST:PORT=ROLE (prefill, decode or both) or HOST:PORT,PORT,... (up to 8 distinct "
             "ports, one data-parallel rank each)";
    o.endpoints.emplace_back(value);
  } else if (arg == "--model") {
    if (value.empty()) return "empty model name";
    o.models.emplace_back(value);
  } else if (arg == "--sim-bin") {
    o.sim_bin = value;
  } else if (arg == "--sim-arg") {
    o.sim_args.emplace_back(value);
  } else if (arg == "--demo-model") {
    o.demo_model = value;
  } else if (arg == "--metrics-names") {
    if (value != "both" && value != "gaie" && value != "llm-d") return "expected gaie, llm-d or both";
    o.metrics_names = value;
  } else if (arg == "--io-backend") {
    net::BackendKind kind;
    if (!net::parse_backend_kind(value, kind)) return "expected auto, io_uring or epoll";
    o.io_backend = std::string(net::backend_kind_name(kind));
  } else if (arg == "--redis") {
    auto hp = config::parse_host_port(value, false);
    if (!hp.value) return hp.error;
    o.redis = std::string(value);
  } else if (!numeric) {
    return "expected a non-negative integer";
  } else if (arg == "--workers") {
    if (n > 1024) return "at most 1024";
    o.workers = unsigned(n);
  } else if (arg == "--demo") {
    if (n > 64) return "at most 64";
    o.demo = unsigned(n);
  } else if (arg == "--max-header-bytes") {
    if (n < 256) return "at least 256";
    o.proxy.limits.max_header_bytes = n;
  } else if (arg == "--max-body-bytes") {
    // The same bounds as the config file's limits.maxBodyBytes: a body is buffered whole.
    if (n < 1024 || n > (1ull << 30)) return "between 1024 and 1073741824";
    o.proxy.limits.max_body_bytes = n;
  } else if (arg == "--access-log-ring-slots") {
    if (n < 2 || n > (1u << 20)) return "between 2 and 1048576";
    o.access_log_ring_slots = uint32_t(n);
  } else if (arg == "--max-buffered-body-bytes") {
    if (n < 4096) return "at least 4096";
    o.proxy.max_buffered_body_bytes = n;
  } else if (n == 0) {
    return "must be positive";
  } else if (n > 86400000) {
    return "too large";
  } else if (arg == "--header-timeout-ms") {
    o.proxy.header_timeout_ms = uint32_t(n);
  } else if (arg == "--body-timeout-ms") {
    o.proxy.body_timeout_ms = uint32_t(n);
  } else if (arg == "--idle-timeout-ms") {
    o.proxy.client_idle_timeout_ms = uint32_t(n);
  } else if (arg == "--upstream-connect-timeout-ms") {
    o.proxy.upstream_connect_timeout_ms = uint32_t(n);
  } else if (arg == "--upstream-first-byte-timeout-ms") {
    o.proxy.upstream_first_byte_timeout_ms = uint32_t(n);
  } else if (arg == "--upstream-idle-timeout-ms") {
    o.proxy.upstream_idle_timeout_ms = uint32_t(n);
  } else if (arg == "--max-attempts") {
    o.proxy.max_attempts = uint32_t(n);
  } else if (arg == "--drain-timeout-ms") {
    o.proxy.drain_timeout_ms = uint32_t(n);
  } else if (arg == "--upstream-read-idle-timeout-ms") {
    o.proxy.upstream_read_idle_timeout_ms = uint32_t(n);
  } else if (arg == "--client-write-timeout-ms") {
    o.proxy.client_write_timeout_ms = uint32_t(n);
  } else if (arg == "--request-timeout-ms") {
    o.proxy.request_timeout_ms = uint32_t(n);
  } else if (arg == "--max-connections") {
    o.proxy.max_connections = uint32_t(n);
  }
  return {};
}


// Go's strconv.ParseBool; a bare switch ("") is true.
std::optional<bool> go_bool(std::string_view value) {
  for (std::string_view t : {"", "1", "t", "T", "true", "TRUE", "True"})
    if (value == t) return true;
  for (std::string_view f : {"0", "f", "F", "false", "FALSE", "False"})
    if (value == f) return false;
  return std::nullopt;
}

// "--flag=value" or "--flag" as an operator wrote it, for warnings.
std::string written(std::string_view flag, std::string_view value) {
  return value.empty() ? std::string(flag) : std::string(flag) + "=" + std::string(value);
}

// A Go EPP flag (kEppFlags). Returns "" or what is wrong with the value; a flag taken
// without effect adds a warning that names it.
std::string apply_epp(Options& o, const util::FlagSpec& flag, std::string_view value) {
  const std::string_view arg = flag.name;
  auto ignored = [&](std::string_view why) {
    o.warnings.push_back(written(arg, value) + " is ignored: " + std::string(why));
    return std::string();
  };
  if (flag.boolean && !go_bool(value)) return "expected true or false";
  auto port = [&](net::Address& out) -> std::string {
    uint32_t n = 0;
    if (!parse_number(value, n) || n > 65535) return "expected a port number (0-65535)";
    out = *net::parse_address(":" + std::to_string(n));
    return {};
  };
  auto duration = [&](std::chrono::nanoseconds& out, std::chrono::nanoseconds min) -> std::string {
    config::DurationParseResult d = config::parse_duration(value);
    if (!d.value) return d.error;
    if (*d.value < min || *d.value > std::chrono::hours(1))
      return "between " + config::format_duration(min) + " and 1h";
    out = *d.value;
    return {};
  };
  // A metric flag names what ringgate reads anyway, or it is warned about.
  auto metric = [&](std::initializer_list<std::string_view> read) {
    for (std::string_view name : read)
      if (value == name) return std::string();
    return ignored("ringgate reads vLLM's " + std::string(*read.begin()) + " (a model server's other metrics are not read)");
  };
  if (arg == "--pool-name") {
    // An InferencePool name is a DNS label (RFC 1123), as the config field checks.
    if (value.empty() || value.size() > 63 || value.front() == '-' || value.back() == '-' ||
        value.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string_view::npos)
      return "not a valid InferencePool name (a DNS label: a-z, 0-9, '-', at most 63)";
    o.pool_name = value;
  } else if (arg == "--pool-namespace") {
    if (value.size() > 63 || value.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string_view::npos)
      return "not a valid namespace name";
    o.pool_namespace = value;  // empty: the pod's own, as the Go EPP
  } else if (arg == "--pool-group") {
    if (value != "inference.networking.k8s.io" && value != "inference.networking.x-k8s.io")
      return "expected inference.networking.k8s.io or inference.networking.x-k8s.io";
    o.pool_group = value;
  } else if (arg == "--config-file") {
    if (value.empty()) return "empty path";
    o.picker_config_file = value;
  } else if (arg == "--config-text") {
    if (value.empty()) return "empty";
    o.picker_config_text = value;
  } else if (arg == "--grpc-port") {
    return port(o.epp_listen);
  } else if (arg == "--grpc-health-port") {
    return port(o.epp_health_listen);
  } else if (arg == "--metrics-port") {
    return port(o.admin);
  } else if (arg == "--refresh-metrics-interval") {
    return duration(o.refresh_metrics_interval, std::chrono::milliseconds(5));
  } else if (arg == "--metrics-staleness-threshold") {
    return duration(o.metrics_staleness_threshold, std::chrono::milliseconds(1));
  } else if (arg == "--refresh-prometheus-metrics-interval") {
    std::chrono::nanoseconds unused{0};
    if (std::string e = duration(unused, std::chrono::nanoseconds(0)); !e.empty()) return e;
    return ignored("ringgate computes /metrics when it is scraped");
  } else if (arg == "--total-queued-requests-metric") {
    return metric({"vllm:num_requests_waiting"});
  } else if (arg == "--total-running-requests-metric") {
    return metric({"vllm:num_requests_running"});
  } else if (arg == "--kv-cache-usage-percentage-metric") {
    return metric({"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"});
  } else if (arg == "--lora-info-metric") {
    return metric({"vllm:lora_requests_info"});
  } else if (arg == "--cache-info-metric") {
    return metric({"vllm:cache_config_info"});
  } else if (arg == "--model-server-metrics-path") {
    if (value != "/metrics") return ignored("ringgate scrapes /metrics");
  } else if (arg == "--model-server-metrics-scheme") {
    if (value != "http" && value != "https") return "expected http or https";
    if (value == "https") return ignored("ringgate scrapes model servers over http");
  } else if (arg == "--model-server-metrics-port") {
    uint32_t n = 0;
    if (!parse_number(value, n) || n > 65535) return "expected a port number (0-65535)";
    return ignored("ringgate scrapes the pool's target port");
  } else if (arg == "--model-server-metrics-https-insecure-skip-verify") {
    return ignored("ringgate scrapes model servers over http");
  } else if (arg == "--ha-enable-leader-election") {
    return ignored("ringgate has no leader election: every replica serves and reports ready");
  } else if (arg == "--secure-serving") {
    o.epp_tls.secure = *go_bool(value);
  } else if (arg == "--cert-path") {
    if (value.empty() || value.size() > 4096) return "expected a directory";
    o.epp_tls.cert_path = std::string(value);
  } else if (arg == "--enable-cert-reload") {
    o.epp_tls.reload = *go_bool(value);
  } else if (arg == "--health-checking") {
    return ignored("grpc.health.v1 is always served");
  } else if (arg == "--metrics-endpoint-auth") {
    return ignored("ringgate's /metrics takes no authentication");
  } else if (arg == "--tracing") {
    return ignored("ringgate emits no traces");
  } else if (arg == "--enable-pprof") {
    return ignored("ringgate has no pprof handlers");
  } else if (arg == "--disable-endpoint-subset-filter") {
    return ignored("ringgate always honors the Gateway's x-gateway-destination-endpoint-subset hint");
  } else if (arg == "--v") {
    int64_t level = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), level);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size()) return "expected an integer";
    return ignored("ringgate logs plain lines to stderr, with no verbosity levels");
  } else if (arg == "--zap-encoder") {
    if (value != "json" && value != "console") return "expected json or console";
    return ignored("ringgate logs plain lines to stderr");
  } else if (arg.starts_with("--zap-")) {
    return ignored("ringgate logs plain lines to stderr");
  }
  return {};
}

bool is_epp_flag(std::string_view name) {
  for (const util::FlagSpec& f : kEppFlags)
    if (f.name == name) return true;
  return false;
}

std::string skipped_text(const util::FlagError& e) {
  if (e.kind == util::FlagErrorKind::NotAFlag) return "argument " + e.flag;
  return written(e.flag, e.value);
}

}  // namespace

bool Options::given_flag(std::string_view name) const {
  for (const std::string& g : given)
    if (g == name) return true;
  return false;
}

std::string usage() {
  return "usage: ringgate [flags]\n" + util::flag_help(kFlags) +
         "\nThe Go EPP's flags, so that GAIE's inferencepool Helm chart starts ringgate with its own args (in Go's\n"
         "forms: --flag value, --flag=value, -flag). In EPP mode, flags ringgate does not know are warned about:\n" +
         util::flag_help(kEppFlags);
}

std::string unknown_flags_error(const Options& options) {
  return options.unknown_flags.empty() ? std::string() : "unknown flag: " + options.unknown_flags.front();
}

ParsedOptions parse_options(int argc, char** argv) {
  ParsedOptions parsed;
  Options& o = parsed.options;
  o.listen = *net::parse_address(":8080");
  o.admin = *net::parse_address(":9090");
  o.epp_listen = *net::parse_address(":9002");
  o.epp_health_listen = *net::parse_address(":9003");
  const std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
  // Unknown flags are collected, not fatal: in EPP mode the Go EPP's chart may pass flags
  // of a newer EPP. Whether they are errors is decided once the mode is known.
  std::vector<util::FlagError> skipped;
  util::FlagParseRules rules;
  rules.single_dash = true;
  rules.skipped = &skipped;
  auto error = util::parse_flags(
      args, all_flags(),
      [&](const util::FlagSpec& flag, std::string_view value) {
        o.given.emplace_back(flag.name);
        if (is_epp_flag(flag.name)) return apply_epp(o, flag, value);
        return apply(o, flag.name, value, !flag.value_hint.empty());
      },
      rules);
  if (!error && !o.picker_config_file.empty() && !o.picker_config_text.empty()) {
    parsed.error = "--config-file and --config-text: give one, not both";
    return parsed;
  }
  if (!error && o.tls_cert.empty() != o.tls_key.empty()) {
    parsed.error = "--tls-cert and --tls-key go together";
    return parsed;
  }
  if (!error) {
    // The Go EPP's one required flag: the chart's args alone start ringgate as the EPP.
    if (o.mode.empty() && !o.pool_name.empty()) o.mode = "epp";
    std::vector<std::string> unknown;
    for (const util::FlagError& e : skipped) unknown.push_back(skipped_text(e));
    if (o.mode == "epp") {
      for (const std::string& u : unknown)
        o.warnings.push_back(u + " is ignored: not a flag ringgate knows (see --help)");
    } else if (!unknown.empty() && o.mode.empty() && !o.config_file.empty()) {
      o.unknown_flags = std::move(unknown);  // the file may say `mode: epp`
    } else if (!unknown.empty()) {
      const util::FlagError& first = skipped.front();
      parsed.error = "unknown flag: " + first.flag;
    }
    return parsed;
  }
  switch (error->kind) {
    case util::FlagErrorKind::NotAFlag:
    case util::FlagErrorKind::UnknownFlag:
      parsed.error = "unknown flag: " + error->flag;
      break;
    case util::FlagErrorKind::MissingValue:
      parsed.error = error->flag + " needs a value";
      for (const util::FlagSpec& f : all_flags())
        if (f.name == error->flag || f.name == "-" + error->flag) parsed.error += " (" + std::string(f.value_hint) + ")";
      break;
    case util::FlagErrorKind::UnexpectedValue:
      parsed.error = error->flag + " takes no value";
      break;
    case util::FlagErrorKind::BadValue:
      parsed.error = "bad value for " + error->flag + ": '" + error->value + "' (" + error->detail + ")";
      break;
  }
  return parsed;
}

}  // namespace ringgate::gateway
