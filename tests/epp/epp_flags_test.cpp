// The Go EPP's flags (issue 34): GAIE's inferencepool chart starts the EPP container with
// them, so ringgate takes them with the same meaning, in every form Go's flag parser
// takes (--flag value, --flag=value, -flag), warns once about those it does not act on,
// warns about unknown flags in EPP mode (refuses them otherwise), and refuses bad values
// with a message that names the flag.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "ringgate/config/config_loader.h"
#include "ringgate/gateway/options.h"
#include "ringgate/gateway/settings.h"

using namespace ringgate;
using namespace std::chrono_literals;

namespace {

gateway::ParsedOptions parse(std::vector<std::string> args) {
  args.insert(args.begin(), "ringgate");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return gateway::parse_options(int(argv.size()), argv.data());
}

gateway::Options ok(std::vector<std::string> args) {
  gateway::ParsedOptions p = parse(std::move(args));
  REQUIRE_MESSAGE(p.error.empty(), p.error);
  return p.options;
}

gateway::Settings resolve(const gateway::Options& o, const config::ConfigSet* f = nullptr) {
  gateway::Settings s;
  const std::string error = gateway::resolve_settings(o, f, s);
  REQUIRE_MESSAGE(error.empty(), error);
  return s;
}

std::string error_of(std::vector<std::string> args) { return parse(std::move(args)).error; }

// The warning about `flag`, or "" when there is none.
std::string warning_for(const gateway::Options& o, std::string_view flag) {
  for (const std::string& w : o.warnings)
    if (w.starts_with(std::string(flag) + " ") || w.starts_with(std::string(flag) + "=")) return w;
  return {};
}

}  // namespace

TEST_CASE("the chart's flags, separated or after '=' or with one dash, mean what they mean to the Go EPP") {
  const std::vector<std::vector<std::string>> spellings = {
      {"--pool-name", "vllm-pool", "--pool-namespace", "llm", "--grpc-port", "19002", "--grpc-health-port", "19003",
       "--metrics-port", "19090"},
      {"--pool-name=vllm-pool", "--pool-namespace=llm", "--grpc-port=19002", "--grpc-health-port=19003",
       "--metrics-port=19090"},
      {"-pool-name", "vllm-pool", "-pool-namespace=llm", "-grpc-port", "19002", "-grpc-health-port=19003",
       "-metrics-port", "19090"},
  };
  for (const auto& args : spellings) {
    CAPTURE(args.front());
    const gateway::Options o = ok(args);
    CHECK(o.mode == "epp");  // --pool-name alone makes ringgate the EPP: the chart passes no --mode
    const gateway::Settings s = resolve(o);
    CHECK(s.epp_mode);
    REQUIRE(s.kubernetes.has_value());
    CHECK(s.kubernetes->inference_pool == "vllm-pool");
    CHECK(s.kubernetes->inference_pool_group == "inference.networking.k8s.io");
    CHECK(s.kubernetes->namespace_name == "llm");
    CHECK(s.kubernetes->service.empty());
    CHECK(s.pool_name == "vllm-pool");  // what the pool's rewrites and objectives name
    CHECK(s.epp_listen.to_string() == "0.0.0.0:19002");
    CHECK(s.epp_health_listen.to_string() == "0.0.0.0:19003");
    CHECK(s.admin.to_string() == "0.0.0.0:19090");
    CHECK(warning_for(o, "--pool-name").empty());
    CHECK(warning_for(o, "--grpc-port").empty());
  }
}

TEST_CASE("--pool-namespace left out or empty: the pod's own namespace; --pool-group picks the API group") {
  gateway::Settings s = resolve(ok({"--pool-name", "p"}));
  CHECK(s.kubernetes->namespace_name.empty());
  s = resolve(ok({"--pool-name", "p", "--pool-namespace="}));
  CHECK(s.kubernetes->namespace_name.empty());
  s = resolve(ok({"--pool-name", "p", "--pool-group", "inference.networking.x-k8s.io"}));
  CHECK(s.kubernetes->inference_pool_group == "inference.networking.x-k8s.io");
}

TEST_CASE("--mode still decides; --pool-name then only names the pool") {
  const gateway::Settings s = resolve(ok({"--mode", "gateway", "--pool-name", "p"}));
  CHECK_FALSE(s.epp_mode);
  REQUIRE(s.kubernetes.has_value());
  CHECK(s.kubernetes->inference_pool == "p");
}

TEST_CASE("--pool-name replaces the file's pool but keeps its way to the API server") {
  auto loaded = config::load_config_text(R"(apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: svc, discovery: {kubernetes: {service: vllm, port: http, apiServer: "http://127.0.0.1:8001"}}}
)");
  REQUIRE(loaded.ok());
  const gateway::Settings s = resolve(ok({"--pool-name", "vllm-pool"}), &loaded.config);
  CHECK(s.kubernetes->inference_pool == "vllm-pool");
  CHECK(s.kubernetes->service.empty());
  CHECK(s.kubernetes->api_server == "http://127.0.0.1:8001");
  CHECK(s.pool_name == "vllm-pool");
}

TEST_CASE("the scrape interval and the staleness threshold map onto ringgate's") {
  const gateway::Settings s = resolve(
      ok({"--pool-name", "p", "--refresh-metrics-interval", "100ms", "--metrics-staleness-threshold=3s"}));
  CHECK(s.pool.poll_interval == 100ms);
  CHECK(s.scheduler.stale_after == 3s);
}

TEST_CASE("flags ringgate does not act on are taken and warned about once, by name") {
  const gateway::Options o = ok({"--pool-name", "p", "--zap-encoder", "json", "--ha-enable-leader-election", "--v", "1",
                                 "--tracing=false", "--metrics-endpoint-auth=false", "-v=2", "--enable-pprof",
                                 "--zap-log-level", "debug"});
  CHECK(warning_for(o, "--zap-encoder") == "--zap-encoder=json is ignored: ringgate logs plain lines to stderr");
  CHECK(warning_for(o, "--ha-enable-leader-election").find("no leader election") != std::string::npos);
  CHECK(warning_for(o, "--tracing") == "--tracing=false is ignored: ringgate emits no traces");
  CHECK(warning_for(o, "--metrics-endpoint-auth").find("no authentication") != std::string::npos);
  CHECK_FALSE(warning_for(o, "--enable-pprof").empty());
  CHECK_FALSE(warning_for(o, "--zap-log-level").empty());
  size_t verbosity = 0;
  for (const std::string& w : o.warnings) verbosity += w.starts_with("--v=");
  CHECK(verbosity == 2);  // --v 1 and -v=2: one warning per flag given
}

TEST_CASE("ext-proc TLS as the Go EPP's flags say: on by default, a certificate directory, reload, or off") {
  const gateway::Options plain_default = ok({"--pool-name", "p"});
  CHECK(plain_default.warnings.empty());
  CHECK(plain_default.epp_tls.secure);
  CHECK(plain_default.epp_tls.cert_path.empty());
  CHECK_FALSE(plain_default.epp_tls.reload);
  const gateway::Options files = ok({"--pool-name", "p", "--cert-path", "/etc/epp-certs", "--enable-cert-reload"});
  CHECK(files.epp_tls.cert_path == "/etc/epp-certs");
  CHECK(files.epp_tls.reload);
  for (const char* off : {"--secure-serving=false", "-secure-serving=0", "--secure-serving=F"})
    CHECK_FALSE(ok({"--pool-name", "p", off}).epp_tls.secure);
  CHECK(resolve(files).epp_tls.cert_path == "/etc/epp-certs");
}

TEST_CASE("a model-server metric flag naming vLLM's metric is honored silently; another is warned about") {
  const gateway::Options same = ok({"--mode", "epp", "--kv-cache-usage-percentage-metric", "vllm:kv_cache_usage_perc",
                                    "--total-queued-requests-metric", "vllm:num_requests_waiting",
                                    "--model-server-metrics-path=/metrics", "--model-server-metrics-scheme", "http"});
  CHECK(same.warnings.empty());
  const gateway::Options triton = ok({"--pool-name", "p", "--kv-cache-usage-percentage-metric",
                                      "nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=fraction}",
                                      "--lora-info-metric", ""});
  CHECK(warning_for(triton, "--kv-cache-usage-percentage-metric").find("vllm:kv_cache_usage_perc") != std::string::npos);
  CHECK(warning_for(triton, "--lora-info-metric") == "--lora-info-metric is ignored: ringgate reads vLLM's "
                                                     "vllm:lora_requests_info (a model server's other metrics are not read)");
}

TEST_CASE("unknown flags: warned about in EPP mode, refused in gateway mode, decided by the file when it may say") {
  const gateway::Options epp = ok({"--pool-name", "p", "--some-new-flag", "x", "--another=1", "stray"});
  CHECK(warning_for(epp, "--some-new-flag") == "--some-new-flag=x is ignored: not a flag ringgate knows (see --help)");
  CHECK_FALSE(warning_for(epp, "--another").empty());
  bool stray = false;
  for (const std::string& w : epp.warnings) stray = stray || w.starts_with("argument stray is ignored");
  CHECK(stray);
  CHECK(ok({"--mode", "epp", "--nope"}).warnings.size() == 1);

  CHECK(error_of({"--endpoint", "127.0.0.1:8000", "--nope"}) == "unknown flag: --nope");
  CHECK(error_of({"--mode", "gateway", "--pool-name", "p", "--nope", "1"}) == "unknown flag: --nope");
  CHECK(error_of({"stray"}) == "unknown flag: stray");

  // No --mode, a config file: its `mode` decides (main refuses them unless it is epp).
  const gateway::Options pending = ok({"--config", "ringgate.yaml", "--nope"});
  CHECK(pending.unknown_flags == std::vector<std::string>{"--nope"});
  CHECK(gateway::unknown_flags_error(pending) == "unknown flag: --nope");
  CHECK(pending.warnings.empty());
}

TEST_CASE("bad values are errors that name the flag and say what is expected") {
  CHECK(error_of({"--grpc-port", "70000"}) == "bad value for --grpc-port: '70000' (expected a port number (0-65535))");
  CHECK(error_of({"--metrics-port=http"}) == "bad value for --metrics-port: 'http' (expected a port number (0-65535))");
  CHECK(error_of({"-grpc-health-port", "-1"}) ==
        "bad value for -grpc-health-port: '-1' (expected a port number (0-65535))");
  CHECK(error_of({"--pool-group", "example.com"}) ==
        "bad value for --pool-group: 'example.com' (expected inference.networking.k8s.io or "
        "inference.networking.x-k8s.io)");
  CHECK(error_of({"--pool-name", "Vllm_Pool"}).starts_with("bad value for --pool-name: 'Vllm_Pool' (not a valid"));
  CHECK(error_of({"--tracing=maybe"}) == "bad value for --tracing: 'maybe' (expected true or false)");
  CHECK(error_of({"--zap-encoder", "xml"}) == "bad value for --zap-encoder: 'xml' (expected json or console)");
  CHECK(error_of({"--v", "high"}) == "bad value for --v: 'high' (expected an integer)");
  CHECK(error_of({"--refresh-metrics-interval", "50"}).starts_with("bad value for --refresh-metrics-interval: '50' (missing unit"));
  CHECK(error_of({"--refresh-metrics-interval", "2h"}) ==
        "bad value for --refresh-metrics-interval: '2h' (between 5ms and 1h)");
  CHECK(error_of({"--config-file"}) == "--config-file needs a value (PATH)");
  CHECK(error_of({"--ha-enable-leader-election=yes"}) ==
        "bad value for --ha-enable-leader-election: 'yes' (expected true or false)");
  CHECK(error_of({"--config-file", "a.yaml", "--config-text", "b"}) == "--config-file and --config-text: give one, not both");
}

TEST_CASE("--help lists the chart's flags") {
  const std::string help = gateway::usage();
  for (std::string_view flag : {"--pool-name NAME", "--pool-namespace NS", "--pool-group GROUP", "--zap-encoder",
                                "--config-file PATH", "--ha-enable-leader-election[=true|false]", "--grpc-port PORT",
                                "--grpc-health-port PORT", "--metrics-port PORT", "--tracing[=true|false]",
                                "--metrics-endpoint-auth[=true|false]", "--v N", "--kv-cache-usage-percentage-metric"}) {
    CAPTURE(flag);
    CHECK(help.find(flag) != std::string::npos);
  }
}
