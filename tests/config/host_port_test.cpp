#include <doctest/doctest.h>

#include "ringgate/config/host_port.h"

using namespace ringgate::config;

TEST_CASE("host:port forms") {
  auto a = parse_host_port("10.0.0.1:8000", false);
  REQUIRE(a.value);
  CHECK(a.value->host == "10.0.0.1");
  CHECK(a.value->port == 8000);

  auto b = parse_host_port(":8080", true);
  REQUIRE(b.value);
  CHECK(b.value->host.empty());
  CHECK(b.value->port == 8080);

  auto c = parse_host_port("[::1]:9090", false);
  REQUIRE(c.value);
  CHECK(c.value->host == "::1");
  CHECK(format_host_port(*c.value) == "[::1]:9090");

  auto d = parse_host_port("vllm-0.vllm.default.svc:8000", false);
  REQUIRE(d.value);
  CHECK(d.value->host == "vllm-0.vllm.default.svc");
}

TEST_CASE("bad addresses say why") {
  auto why = [](std::string_view text, bool allow_empty) {
    auto r = parse_host_port(text, allow_empty);
    CHECK_FALSE(r.value);
    return r.error;
  };
  CHECK(why(":8080", false).find("missing host") != std::string::npos);
  CHECK(why("10.0.0.1", false).find("missing :port") != std::string::npos);
  CHECK(why("10.0.0.1:", false).find("missing port") != std::string::npos);
  CHECK(why("10.0.0.1:0", false).find("1-65535") != std::string::npos);
  CHECK(why("10.0.0.1:65536", false).find("1-65535") != std::string::npos);
  CHECK(why("10.0.0.1:http", false).find("must be a number") != std::string::npos);
  CHECK(why("http://10.0.0.1:80", false).find("not a URL") != std::string::npos);
  CHECK(why("::1:80", false).find("brackets") != std::string::npos);
  CHECK(why("bad host:80", false).find("bad character") != std::string::npos);
  CHECK(why("[::1:80", false).find("']'") != std::string::npos);
  CHECK(why("", true).find("empty") != std::string::npos);
}
