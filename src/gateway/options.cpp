#include "ringgate/gateway/options.h"

#include "ringgate/net/io_backend.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>
#include <vector>

#include "ringgate/util/flag_table.h"

namespace ringgate::gateway {

namespace {

constexpr util::FlagSpec kFlags[] = {
    {"--config", "FILE", "YAML config (Gateway, InferenceModelRewrite, ...); reloaded on SIGHUP and on change"},
    {"--check-config", "FILE", "validate FILE, print every error with its line, exit 0 if valid"},
    {"--listen", "ADDR:PORT", "API listener (default :8080)"},
    {"--tls-cert", "FILE", "HTTPS on the API listener: PEM certificate chain (with --tls-key; reloaded on change)"},
    {"--tls-key", "FILE", "the certificate's PEM private key"},
    {"--admin", "ADDR:PORT", "admin listener: /metrics /healthz /readyz /debug/endpoints, POST /debug/pick (default :9090)"},
    {"--mode", "gateway|epp", "gateway (default): proxy on --listen; epp: GAIE Endpoint Picker over Envoy ext-proc gRPC"},
    {"--epp-listen", "ADDR:PORT", "EPP mode: ext-proc gRPC listener (default :9002)"},
    {"--epp-health-listen", "ADDR:PORT", "EPP mode: grpc.health.v1 listener (default :9003)"},
    {"--endpoint", "HOST:PORT", "upstream vLLM server (repeatable; overrides the config's pool)"},
    {"--model", "NAME", "a model every endpoint serves besides what its /v1/models lists (repeatable)"},
    {"--workers", "N", "worker threads (default: one per core)"},
    {"--metrics-names", "gaie|llm-d|both", "EPP metric names on /metrics: GAIE inference_*, llm-d llm_d_epp_*, or both (default)"},
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
    {"--prefix-index-bytes", "N[Ki|Mi|Gi]", "prefix index memory budget, 1Mi..1024Gi (config scheduler.prefixIndexMemoryBytes; default 128Mi)"},
    {"--access-log-ring-slots", "N", "access log records a worker holds between writes (every 100 ms; default 1024); more are dropped and counted"},
    {"--help", "", "print this help"},
};

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
    if (!net::parse_address(value) || net::parse_address(value)->port() == 0) return "expected HOST:PORT";
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

}  // namespace

bool Options::given_flag(std::string_view name) const {
  for (const std::string& g : given)
    if (g == name) return true;
  return false;
}

std::string usage() { return "usage: ringgate [flags]\n" + util::flag_help(kFlags); }

ParsedOptions parse_options(int argc, char** argv) {
  ParsedOptions parsed;
  Options& o = parsed.options;
  o.listen = *net::parse_address(":8080");
  o.admin = *net::parse_address(":9090");
  o.epp_listen = *net::parse_address(":9002");
  o.epp_health_listen = *net::parse_address(":9003");
  const std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
  auto error = util::parse_flags(args, kFlags, [&](const util::FlagSpec& flag, std::string_view value) {
    o.given.emplace_back(flag.name);
    return apply(o, flag.name, value, !flag.value_hint.empty());
  });
  if (!error) {
    if (o.tls_cert.empty() != o.tls_key.empty()) parsed.error = "--tls-cert and --tls-key go together";
    return parsed;
  }
  switch (error->kind) {
    case util::FlagErrorKind::NotAFlag:
    case util::FlagErrorKind::UnknownFlag:
      parsed.error = "unknown flag: " + error->flag;
      break;
    case util::FlagErrorKind::MissingValue:
      parsed.error = error->flag + " needs a value";
      for (const util::FlagSpec& f : kFlags)
        if (f.name == error->flag) parsed.error += " (" + std::string(f.value_hint) + ")";
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
