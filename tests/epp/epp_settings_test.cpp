// EPP mode is chosen by `--mode epp` or `mode: epp` (gateway stays the default); its
// listeners by --epp-listen / --epp-health-listen or listen.epp / listen.eppHealth,
// with the usual precedence defaults < file < flags. A bad mode is an error.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ringgate/config/config_loader.h"
#include "ringgate/gateway/options.h"
#include "ringgate/gateway/settings.h"

using namespace ringgate;

namespace {

gateway::ParsedOptions parse(std::vector<std::string> args) {
  args.insert(args.begin(), "ringgate");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return gateway::parse_options(int(argv.size()), argv.data());
}

gateway::Settings resolve(const gateway::Options& o, const config::ConfigSet* f) {
  gateway::Settings s;
  const std::string error = gateway::resolve_settings(o, f, s);
  REQUIRE_MESSAGE(error.empty(), error);
  return s;
}

constexpr std::string_view kEppFile = R"(apiVersion: ringgate.io/v1
kind: Gateway
mode: epp
listen: {epp: "127.0.0.1:19002", eppHealth: ":19003"}
pool: {discovery: {static: ["10.0.0.1:8000"]}}
)";

}  // namespace

TEST_CASE("gateway is the default mode; :9002 and :9003 the EPP listeners") {
  const gateway::Settings s = resolve(parse({"--endpoint", "10.0.0.1:8000"}).options, nullptr);
  CHECK_FALSE(s.epp_mode);
  CHECK(s.epp_listen.port() == 9002);
  CHECK(s.epp_health_listen.port() == 9003);
}

TEST_CASE("mode and EPP listeners from the file; flags win") {
  auto loaded = config::load_config_text(kEppFile, "epp.yaml");
  REQUIRE(loaded.ok());
  CHECK(loaded.config.gateway.mode == "epp");
  const gateway::Settings from_file = resolve(parse({}).options, &loaded.config);
  CHECK(from_file.epp_mode);
  CHECK(from_file.epp_listen.to_string() == "127.0.0.1:19002");
  CHECK(from_file.epp_health_listen.port() == 19003);

  const gateway::Settings flagged =
      resolve(parse({"--mode", "gateway", "--epp-listen", "127.0.0.1:29002"}).options, &loaded.config);
  CHECK_FALSE(flagged.epp_mode);
  CHECK(flagged.epp_listen.port() == 29002);
  CHECK(flagged.epp_health_listen.port() == 19003);  // not named by a flag: the file's
  CHECK(resolve(parse({"--mode", "epp", "--endpoint", "10.0.0.1:8000"}).options, nullptr).epp_mode);
}

TEST_CASE("a mode other than gateway or epp is refused, in flags and in the file") {
  CHECK(parse({"--mode", "proxy"}).error.find("--mode") != std::string::npos);
  CHECK(parse({"--epp-listen", "nowhere"}).error.find("--epp-listen") != std::string::npos);
  auto bad = config::load_config_text("apiVersion: ringgate.io/v1\nkind: Gateway\nmode: sidecar\n"
                                      "pool: {discovery: {static: [\"10.0.0.1:8000\"]}}\n",
                                      "bad.yaml");
  REQUIRE_FALSE(bad.ok());
  CHECK(config::format_error(bad.errors[0]).find("mode: must be gateway or epp") != std::string::npos);
  auto unknown = config::load_config_text("apiVersion: ringgate.io/v1\nkind: Gateway\nlisten: {grpc: \":1\"}\n"
                                          "pool: {discovery: {static: [\"10.0.0.1:8000\"]}}\n",
                                          "bad.yaml");
  CHECK_FALSE(unknown.ok());
}
