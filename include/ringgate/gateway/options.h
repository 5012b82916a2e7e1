#pragma once
// Command-line flags of the ringgate binary.
#include <optional>
#include <string>
#include <vector>

#include "ringgate/net/address.h"
#include "ringgate/proxy/proxy_options.h"

namespace ringgate::gateway {

struct Options {
  net::Address listen;                 // --listen (default :8080)
  net::Address admin;                  // --admin (default :9090)
  std::vector<std::string> endpoints;  // --endpoint host:port, repeatable
  std::vector<std::string> models;     // --model NAME, repeatable: skips fetching /v1/models
  unsigned workers = 0;                // --workers (0 = one per core)
  unsigned demo = 0;                   // --demo N: start N ringgate-sim servers
  std::string sim_bin;                 // --sim-bin PATH
  std::vector<std::string> sim_args;   // --sim-arg ARG, repeatable: passed to each demo sim
  std::string demo_model = "facebook/opt-125m";  // --demo-model
  unsigned models_refresh_ms = 10000;  // --models-refresh-ms (0 = never)
  proxy::ProxyOptions proxy;
  bool help = false;
};

struct ParsedOptions {
  Options options;
  std::string error;  // non-empty: print with usage and exit 2
};

ParsedOptions parse_options(int argc, char** argv);
std::string usage();

}  // namespace ringgate::gateway
