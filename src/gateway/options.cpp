#include "ringgate/gateway/options.h"

#include <charconv>
#include <cstring>
#include <string_view>

namespace ringgate::gateway {

namespace {

struct Flag {
  const char* name;
  const char* value;  // nullptr: takes no value
  const char* help;
};

constexpr Flag kFlags[] = {
    {"--config", "FILE", "YAML config (Gateway, InferenceModelRewrite, ...); reloaded on SIGHUP and on change"},
    {"--check-config", "FILE", "validate FILE, print every error with its line, exit 0 if valid"},
    {"--listen", "ADDR:PORT", "API listener (default :8080)"},
    {"--admin", "ADDR:PORT", "admin listener: /metrics /healthz /readyz /debug/endpoints (default :9090)"},
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
    {"--help", nullptr, "print this help"},
};

template <typename T>
bool parse_number(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

}  // namespace

bool Options::given_flag(std::string_view name) const {
  for (const std::string& g : given)
    if (g == name) return true;
  return false;
}

std::string usage() {
  std::string text = "usage: ringgate [flags]\n";
  for (const Flag& flag : kFlags) {
    std::string left = std::string("  ") + flag.name + (flag.value ? std::string(" ") + flag.value : "");
    if (left.size() < 38) left.resize(38, ' ');
    text += left + " " + flag.help + "\n";
  }
  return text;
}

ParsedOptions parse_options(int argc, char** argv) {
  ParsedOptions parsed;
  Options& o = parsed.options;
  o.listen = *net::parse_address(":8080");
  o.admin = *net::parse_address(":9090");
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool has_inline_value = false;
    if (const size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_inline_value = true;
    }
    const Flag* flag = nullptr;
    for (const Flag& f : kFlags) {
      if (arg == f.name) flag = &f;
    }
    if (flag == nullptr) {
      parsed.error = "unknown flag: " + std::string(arg);
      return parsed;
    }
    o.given.emplace_back(arg);
    if (flag->value && !has_inline_value) {
      if (i + 1 >= argc) {
        parsed.error = std::string(arg) + " needs a value (" + flag->value + ")";
        return parsed;
      }
      value = argv[++i];
    }
    auto bad = [&](const char* what) {
      parsed.error = "bad value for " + std::string(arg) + ": '" + std::string(value) + "' (" + what + ")";
      return parsed;
    };
    auto address = [&](net::Address& out) {
      auto a = net::parse_address(value);
      if (!a) return false;
      out = *a;
      return true;
    };
    uint64_t n = 0;
    const bool numeric = flag->value && parse_number(value, n);
    if (arg == "--help") {
      o.help = true;
    } else if (arg == "--config") {
      if (value.empty()) return bad("empty path");
      o.config_file = value;
    } else if (arg == "--check-config") {
      if (value.empty()) return bad("empty path");
      o.check_config_file = value;
    } else if (arg == "--listen") {
      if (!address(o.listen)) return bad("expected IPv4ADDR:PORT or :PORT");
    } else if (arg == "--admin") {
      if (!address(o.admin)) return bad("expected IPv4ADDR:PORT or :PORT");
    } else if (arg == "--endpoint") {
      if (!net::parse_address(value) || net::parse_address(value)->port() == 0) return bad("expected HOST:PORT");
      o.endpoints.emplace_back(value);
    } else if (arg == "--model") {
      if (value.empty()) return bad("empty model name");
      o.models.emplace_back(value);
    } else if (arg == "--sim-bin") {
      o.sim_bin = value;
    } else if (arg == "--sim-arg") {
      o.sim_args.emplace_back(value);
    } else if (arg == "--demo-model") {
      o.demo_model = value;
    } else if (arg == "--metrics-names") {
      if (value != "both" && value != "gaie" && value != "llm-d") return bad("expected gaie, llm-d or both");
      o.metrics_names = value;
    } else if (!numeric) {
      return bad("expected a non-negative integer");
    } else if (arg == "--workers") {
      if (n > 1024) return bad("at most 1024");
      o.workers = unsigned(n);
    } else if (arg == "--demo") {
      if (n > 64) return bad("at most 64");
      o.demo = unsigned(n);
    } else if (arg == "--max-header-bytes") {
      if (n < 256) return bad("at least 256");
      o.proxy.limits.max_header_bytes = n;
    } else if (arg == "--max-body-bytes") {
      o.proxy.limits.max_body_bytes = n;
    } else if (n == 0) {
      return bad("must be positive");
    } else if (n > 86400000) {
      return bad("too large");
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
    }
  }
  return parsed;
}

}  // namespace ringgate::gateway
