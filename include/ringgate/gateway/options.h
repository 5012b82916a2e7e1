#pragma once
// Command-line flags of the ringgate binary.
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/epp/ext_proc_tls.h"
#include "ringgate/net/address.h"
#include "ringgate/proxy/proxy_options.h"
#include "ringgate/util/flag_table.h"

namespace ringgate::gateway {

struct Options {
  net::Address listen;                 // --listen (default :8080)
  net::Address admin;                  // --admin (default :9090)
  std::string mode;                    // --mode gateway|epp (empty = the config's, else gateway)
  net::Address epp_listen;             // --epp-listen (default :9002): ext-proc gRPC in EPP mode
  net::Address epp_health_listen;      // --epp-health-listen (default :9003): grpc.health.v1 in EPP mode
  epp::ExtProcTls epp_tls;             // --secure-serving, --cert-path, --enable-cert-reload (the Go EPP's)
  std::vector<std::string> endpoints;  // --endpoint host:port, repeatable
  std::vector<std::string> models;     // --model NAME, repeatable: served by every endpoint
  std::string config_file;             // --config FILE
  std::string redis;                   // --redis HOST:PORT (sharedState.redis.address)
  std::string check_config_file;       // --check-config FILE
  std::string tls_cert;                // --tls-cert FILE: HTTPS on --listen (with --tls-key)
  std::string tls_key;                 // --tls-key FILE
  unsigned workers = 0;                // --workers (0 = one per core)
  unsigned demo = 0;                   // --demo N: start N ringgate-sim servers
  std::string sim_bin;                 // --sim-bin PATH
  std::vector<std::string> sim_args;   // --sim-arg ARG, repeatable: passed to each demo sim
  std::string demo_model = "facebook/opt-125m";  // --demo-model
  std::string metrics_names = "both";  // --metrics-names gaie|llm-d|both
  proxy::ProxyOptions proxy;
  std::string io_backend;              // --io-backend (empty = the config's, else auto)
  uint64_t prefix_index_bytes = 0;     // --prefix-index-bytes (0 = the config's, else the default)
  uint32_t access_log_ring_slots = 1024;  // --access-log-ring-slots, per worker (when the config enables the log)
  bool help = false;
  std::vector<std::string> given;      // the flags on the command line, in order

  // The Go EPP's flags as GAIE's inferencepool Helm chart passes them (usage() lists
  // them), with the Go EPP's meaning; --grpc-port, --grpc-health-port and --metrics-port
  // set epp_listen, epp_health_listen and admin.
  std::string pool_name;       // --pool-name: the InferencePool whose pods are the pool (implies --mode epp)
  std::string pool_namespace;  // --pool-namespace (empty: the pod's own namespace)
  std::string pool_group;      // --pool-group (empty: inference.networking.k8s.io)
  std::string picker_config_file;  // --config-file: a GAIE EndpointPickerConfig
  std::string picker_config_text;  // --config-text: the same, inline
  std::chrono::nanoseconds refresh_metrics_interval{0};     // --refresh-metrics-interval (metrics.pollInterval)
  std::chrono::nanoseconds metrics_staleness_threshold{0};  // --metrics-staleness-threshold (scheduler.metricsStaleAfter)
  // Said once at start: flags taken that change nothing here, and unknown flags in EPP mode.
  std::vector<std::string> warnings;
  // Unknown flags and stray arguments while the mode is not known (no --mode, and --config
  // may say `mode: epp`): an error unless the settings turn out to be EPP mode.
  std::vector<std::string> unknown_flags;

  // Whether `name` ("--listen") was on the command line: flags beat the config file.
  bool given_flag(std::string_view name) const;
};

struct ParsedOptions {
  Options options;
  std::string error;  // non-empty: print with usage and exit 2
};

ParsedOptions parse_options(int argc, char** argv);
std::string usage();

// The flag tables (the --help text): ringgate's own, and the Go EPP's as the inferencepool
// chart passes them. docs/reference/configuration.md lists both (tests/docs).
std::span<const util::FlagSpec> gateway_flags();
std::span<const util::FlagSpec> epp_flags();

// The message for unknown flags left pending (Options::unknown_flags) when the mode turns
// out not to be EPP; "" when there are none.
std::string unknown_flags_error(const Options& options);

}  // namespace ringgate::gateway
