// control::StaticResolution: a static entry's name becomes one endpoint per address of its
// last good answer; a failed answer keeps that set; an answer is cut at kMaxAddressesPerName.
#include "ringgate/control/static_resolution.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace ringgate::control;

namespace {

DesiredEndpoint entry(std::string host, uint16_t port) {
  DesiredEndpoint d;
  d.host = std::move(host);
  d.port = port;
  return d;
}

DesiredEndpoint leaf(std::string host, uint16_t port, std::string admin_host, uint16_t admin_port) {
  DesiredEndpoint d = entry(std::move(host), port);
  d.gateway = true;
  d.admin_host = std::move(admin_host);
  d.admin_port = admin_port;
  return d;
}

std::vector<std::string> hosts(const std::vector<DesiredEndpoint>& endpoints) {
  std::vector<std::string> out;
  for (const DesiredEndpoint& d : endpoints) out.push_back(d.host + ":" + std::to_string(d.port));
  return out;
}

std::vector<std::string> numbered(size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256));
  return out;
}

}  // namespace

TEST_CASE("IP literals are used as they are, names are resolved") {
  CHECK(is_ip_literal("10.1.2.3"));
  CHECK(is_ip_literal("::1"));
  CHECK(is_ip_literal("fd00::5"));
  CHECK_FALSE(is_ip_literal("localhost"));
  CHECK_FALSE(is_ip_literal("vllm-0.svc"));
  CHECK_FALSE(is_ip_literal(""));
  StaticResolution r;
  r.set_entries({entry("10.1.2.3", 8000), entry("vllm", 8000), entry("vllm", 8001), leaf("10.0.0.9", 80, "adm", 9)});
  CHECK(r.names() == std::vector<std::string>{"vllm", "adm"});
  CHECK_FALSE(r.all_resolved());
  // A name never resolved makes no endpoint (its leaf neither: its admin address is unknown).
  CHECK(hosts(r.endpoints()) == std::vector<std::string>{"10.1.2.3:8000"});
}

TEST_CASE("every address is an endpoint; added, removed and unchanged answers") {
  StaticResolution r;
  r.set_entries({entry("vllm", 8000)});
  CHECK(r.apply("vllm", std::vector<std::string>{"10.0.0.2", "10.0.0.1"}));
  CHECK(r.all_resolved());
  CHECK(hosts(r.endpoints()) == std::vector<std::string>{"10.0.0.1:8000", "10.0.0.2:8000"});
  SUBCASE("unchanged (in another order): no change") {
    CHECK_FALSE(r.apply("vllm", std::vector<std::string>{"10.0.0.1", "10.0.0.2", "10.0.0.1"}));
    CHECK(hosts(r.endpoints()) == std::vector<std::string>{"10.0.0.1:8000", "10.0.0.2:8000"});
  }
  SUBCASE("added") {
    CHECK(r.apply("vllm", std::vector<std::string>{"10.0.0.1", "10.0.0.2", "fd00::3"}));
    CHECK(hosts(r.endpoints()) == std::vector<std::string>{"10.0.0.1:8000", "10.0.0.2:8000", "fd00::3:8000"});
  }
  SUBCASE("removed") {
    CHECK(r.apply("vllm", std::vector<std::string>{"10.0.0.2"}));
    CHECK(hosts(r.endpoints()) == std::vector<std::string>{"10.0.0.2:8000"});
  }
  SUBCASE("a failure keeps the last good set, counted") {
    CHECK_FALSE(r.apply("vllm", std::nullopt));
    CHECK_FALSE(r.apply("vllm", std::vector<std::string>{}));
    CHECK(r.failures() == 2);
    CHECK(hosts(r.endpoints()) == std::vector<std::string>{"10.0.0.1:8000", "10.0.0.2:8000"});
  }
  SUBCASE("a reload keeps the answers of names still named") {
    r.set_entries({entry("vllm", 9000), entry("other", 1)});
    CHECK(hosts(r.endpoints()) == std::vector<std::string>{"10.0.0.1:9000", "10.0.0.2:9000"});
    r.set_entries({entry("other", 1)});
    r.set_entries({entry("vllm", 9000)});
    CHECK(r.endpoints().empty());  // forgotten while it was not named
  }
}

TEST_CASE("an entry's other fields are kept on each of its addresses") {
  StaticResolution r;
  DesiredEndpoint d = entry("vllm", 8000);
  d.role = ringgate::sched::EndpointRole::Decode;
  d.rank = 1;
  d.priority = 2;
  r.set_entries({d});
  r.apply("vllm", std::vector<std::string>{"10.0.0.1", "10.0.0.2"});
  for (const DesiredEndpoint& e : r.endpoints()) {
    CHECK(e.role == ringgate::sched::EndpointRole::Decode);
    CHECK(e.rank == 1);
    CHECK(e.priority == 2);
  }
}

TEST_CASE("at most kMaxAddressesPerName addresses per name: N kept, N+1 cut to N") {
  StaticResolution r;
  r.set_entries({entry("wide", 80)});
  r.apply("wide", numbered(kMaxAddressesPerName));
  CHECK(r.endpoints().size() == kMaxAddressesPerName);
  CHECK(r.truncated() == 0);
  std::vector<std::string> over = numbered(kMaxAddressesPerName + 1);
  r.apply("wide", over);
  CHECK(r.endpoints().size() == kMaxAddressesPerName);
  CHECK(r.truncated() == 1);
  // The first N of the answer are the ones kept: the last is not among them.
  std::vector<std::string> got = hosts(r.endpoints());
  CHECK(std::find(got.begin(), got.end(), over.back() + ":80") == got.end());
}

TEST_CASE("a leaf's admin name is resolved likewise and paired with each api address") {
  StaticResolution r;
  SUBCASE("the same name: each api address with the admin port on that address") {
    r.set_entries({leaf("leaf", 8080, "leaf", 9090)});
    r.apply("leaf", std::vector<std::string>{"10.0.0.1", "10.0.0.2"});
    auto e = r.endpoints();
    REQUIRE(e.size() == 2);
    CHECK(e[0].host == "10.0.0.1");
    CHECK(e[0].admin_host == "10.0.0.1");
    CHECK(e[1].host == "10.0.0.2");
    CHECK(e[1].admin_host == "10.0.0.2");
    CHECK(e[1].admin_port == 9090);
    CHECK(e[1].gateway);
  }
  SUBCASE("another name: the admin address on the api address's IP when it has one, else in turn") {
    r.set_entries({leaf("api", 8080, "adm", 9090)});
    r.apply("api", std::vector<std::string>{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"});
    CHECK(r.endpoints().empty());  // the admin name not resolved yet: unreadable, left out
    r.apply("adm", std::vector<std::string>{"10.0.9.9", "10.0.0.2"});
    auto e = r.endpoints();
    REQUIRE(e.size() == 4);
    // The admin answer, sorted: 10.0.0.2, 10.0.9.9; api address i takes [i % 2] unless its own IP is there.
    CHECK(e[0].admin_host == "10.0.0.2");
    CHECK(e[1].admin_host == "10.0.0.2");  // its own IP
    CHECK(e[2].admin_host == "10.0.0.2");
    CHECK(e[3].admin_host == "10.0.9.9");
  }
  SUBCASE("an api literal with an admin name") {
    r.set_entries({leaf("10.0.0.7", 8080, "adm", 9090)});
    CHECK(r.endpoints().empty());
    r.apply("adm", std::vector<std::string>{"10.0.0.7"});
    auto e = r.endpoints();
    REQUIRE(e.size() == 1);
    CHECK(e[0].admin_host == "10.0.0.7");
  }
}

TEST_CASE("resolve_host: the real getaddrinfo path") {
  auto local = resolve_host("localhost");
  REQUIRE(local);
  CHECK(std::find(local->begin(), local->end(), "127.0.0.1") != local->end());
  auto literal = resolve_host("127.0.0.1");
  REQUIRE(literal);
  CHECK(*literal == std::vector<std::string>{"127.0.0.1"});
  // A name that fails is the integration test's (tests/discovery/static_resolve.test.mjs, in a namespace
  // of its own whose resolver reads only its hosts file): here it would ask a DNS server.
}
