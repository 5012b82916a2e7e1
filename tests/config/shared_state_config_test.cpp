// sharedState: {redis: {address, passwordFile}, syncInterval} (issue 33), range-checked
// so that --check-config refuses a bad value with its path.

#include <doctest/doctest.h>

#include <string>

#include "ringgate/config/config_loader.h"

using namespace ringgate::config;
using namespace std::chrono_literals;

namespace {

std::string all_errors(const LoadResult& result) {
  std::string out;
  for (const ConfigError& e : result.errors) out += format_error(e) + "\n";
  return out;
}

LoadResult load(std::string_view body) {
  return load_config_text("apiVersion: ringgate.io/v1\nkind: Gateway\npool: {discovery: {static: [\"127.0.0.1:8000\"]}}\n" +
                              std::string(body),
                          "t.yaml");
}

}  // namespace

TEST_CASE("sharedState: absent means none, 20ms when only the address is given") {
  LoadResult none = load("workers: 1\n");
  REQUIRE_MESSAGE(none.ok(), all_errors(none));
  CHECK(!none.config.gateway.shared_state.redis);
  LoadResult r = load("sharedState: {redis: {address: \"10.0.0.5:6379\"}}\n");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  REQUIRE(r.config.gateway.shared_state.redis);
  CHECK(r.config.gateway.shared_state.redis->address.host == "10.0.0.5");
  CHECK(r.config.gateway.shared_state.redis->address.port == 6379);
  CHECK(r.config.gateway.shared_state.redis->password_file.empty());
  CHECK(r.config.gateway.shared_state.sync_interval == 20ms);
}

TEST_CASE("sharedState: every field read") {
  LoadResult r = load("sharedState: {redis: {address: \"redis:7000\", passwordFile: /run/pw}, syncInterval: 50ms}\n");
  REQUIRE_MESSAGE(r.ok(), all_errors(r));
  const SharedStateConfig& s = r.config.gateway.shared_state;
  CHECK(s.redis->address.host == "redis");
  CHECK(s.redis->address.port == 7000);
  CHECK(s.redis->password_file == "/run/pw");
  CHECK(s.sync_interval == 50ms);
  CHECK(r.config.gateway.file_sets("sharedState.syncInterval"));
}

TEST_CASE("sharedState: bad values are refused with their path") {
  auto refused = [](std::string_view body, std::string_view path) {
    LoadResult r = load(body);
    CHECK_MESSAGE(!r.ok(), body);
    CHECK_MESSAGE(all_errors(r).find(path) != std::string::npos, all_errors(r));
  };
  refused("sharedState: {redis: {passwordFile: /pw}}\n", "sharedState.redis");           // no address
  refused("sharedState: {redis: {address: \":6379\"}}\n", "sharedState.redis.address");  // no host
  refused("sharedState: {redis: {address: \"h:0\"}}\n", "sharedState.redis.address");
  refused("sharedState: {redis: {address: \"h:1\", user: x}}\n", "sharedState.redis.user");
  refused("sharedState: {syncInterval: 1ms}\n", "sharedState.syncInterval");  // 5ms..10s
  refused("sharedState: {syncInterval: 11s}\n", "sharedState.syncInterval");
  refused("sharedState: {redis: \"h:1\"}\n", "sharedState.redis");  // a map, not a string
}
