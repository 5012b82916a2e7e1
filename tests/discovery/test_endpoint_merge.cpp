// Merge rules: conditions' defaults, port by name/number, dedupe across slices.
#include <doctest/doctest.h>

#include "ringgate/discovery/endpoint_merge.h"
#include "ringgate/discovery/target_port.h"

using namespace ringgate::discovery;

namespace {

EndpointSliceEndpoint endpoint(std::string address, std::optional<bool> ready = std::nullopt,
                               std::optional<bool> terminating = std::nullopt, std::string pod = "") {
  EndpointSliceEndpoint e;
  e.addresses = {std::move(address)};
  e.ready = ready;
  e.terminating = terminating;
  e.pod_name = std::move(pod);
  return e;
}

EndpointSlice slice(std::string name, AddressType type, std::vector<EndpointSlicePort> ports,
                    std::vector<EndpointSliceEndpoint> endpoints) {
  EndpointSlice s;
  s.name = std::move(name);
  s.address_type = type;
  s.ports = std::move(ports);
  s.endpoints = std::move(endpoints);
  return s;
}

const TargetPort kHttp{"http", 0};
const TargetPort k8000{"", 8000};

}  // namespace

TEST_CASE("absent conditions mean ready, serving as ready, not terminating") {
  std::map<std::string, EndpointSlice> slices;
  slices["a"] = slice("a", AddressType::ipv4, {{"http", 8000, "TCP"}},
                      {endpoint("10.0.0.1"), endpoint("10.0.0.2", false), endpoint("10.0.0.3", true, true)});
  auto merged = merge_slices(slices, kHttp);
  REQUIRE(merged.size() == 3);
  CHECK(merged[0].ready);
  CHECK(merged[0].serving);
  CHECK_FALSE(merged[0].terminating);
  CHECK(is_routable(merged[0]));
  CHECK_FALSE(merged[1].ready);
  CHECK_FALSE(merged[1].serving);  // serving defers to ready
  CHECK_FALSE(is_routable(merged[1]));
  CHECK(merged[2].terminating);
  CHECK_FALSE(is_routable(merged[2]));  // ready but terminating: not routable
}

TEST_CASE("port chosen per slice by name or by number, TCP only") {
  std::map<std::string, EndpointSlice> slices;
  slices["a"] = slice("a", AddressType::ipv4, {{"http", 8000, "TCP"}}, {endpoint("10.0.0.1")});
  slices["b"] = slice("b", AddressType::ipv4, {{"http", 8001, "TCP"}}, {endpoint("10.0.0.2")});
  slices["c"] = slice("c", AddressType::ipv4, {{"metrics", 9000, "TCP"}}, {endpoint("10.0.0.3")});
  slices["d"] = slice("d", AddressType::ipv4, {{"http", 8000, "UDP"}}, {endpoint("10.0.0.4")});

  auto by_name = merge_slices(slices, kHttp);
  REQUIRE(by_name.size() == 2);
  CHECK(by_name[0].port == 8000);
  CHECK(by_name[1].port == 8001);

  auto by_number = merge_slices(slices, k8000);
  REQUIRE(by_number.size() == 1);
  CHECK(by_number[0].address == "10.0.0.1");

  std::map<std::string, EndpointSlice> unnamed;
  unnamed["u"] = slice("u", AddressType::ipv4, {{std::nullopt, 8000, "TCP"}}, {endpoint("10.0.0.9")});
  CHECK(merge_slices(unnamed, k8000).size() == 1);
  CHECK(merge_slices(unnamed, kHttp).empty());

  std::map<std::string, EndpointSlice> portless;
  portless["p"] = slice("p", AddressType::ipv4, {}, {endpoint("10.0.0.8")});
  CHECK(merge_slices(portless, k8000).size() == 1);  // no ports listed: number used as is
  CHECK(merge_slices(portless, kHttp).empty());
}

TEST_CASE("IPv6 kept, FQDN and malformed addresses skipped") {
  std::map<std::string, EndpointSlice> slices;
  slices["v6"] = slice("v6", AddressType::ipv6, {{"http", 8000, "TCP"}}, {endpoint("fd00::1"), endpoint("10.0.0.1")});
  slices["dns"] = slice("dns", AddressType::fqdn, {{"http", 8000, "TCP"}}, {endpoint("vllm.example.com")});
  slices["v4"] = slice("v4", AddressType::ipv4, {{"http", 8000, "TCP"}}, {endpoint("fd00::2"), endpoint("not-an-ip")});
  auto merged = merge_slices(slices, kHttp);
  REQUIRE(merged.size() == 1);
  CHECK(merged[0].address == "fd00::1");
}

TEST_CASE("an address in two slices appears once, the routable copy winning") {
  std::map<std::string, EndpointSlice> slices;
  slices["a"] = slice("a", AddressType::ipv4, {{"http", 8000, "TCP"}}, {endpoint("10.0.0.1", false, std::nullopt, "old")});
  slices["b"] = slice("b", AddressType::ipv4, {{"http", 8000, "TCP"}},
                      {endpoint("10.0.0.1", true, std::nullopt, "new"), endpoint("10.0.0.2")});
  auto merged = merge_slices(slices, kHttp);
  REQUIRE(merged.size() == 2);
  CHECK(merged[0].address == "10.0.0.1");
  CHECK(merged[0].pod_name == "new");
  CHECK(is_routable(merged[0]));
  // Same address on a different port is a different endpoint.
  slices["c"] = slice("c", AddressType::ipv4, {{"http", 8001, "TCP"}}, {endpoint("10.0.0.1")});
  CHECK(merge_slices(slices, kHttp).size() == 3);
}

TEST_CASE("the merged set is ordered, so equal inputs compare equal") {
  std::map<std::string, EndpointSlice> one, two;
  one["a"] = slice("a", AddressType::ipv4, {{"http", 8000, "TCP"}}, {endpoint("10.0.0.2"), endpoint("10.0.0.1")});
  two["z"] = slice("z", AddressType::ipv4, {{"http", 8000, "TCP"}}, {endpoint("10.0.0.1")});
  two["y"] = slice("y", AddressType::ipv4, {{"http", 8000, "TCP"}}, {endpoint("10.0.0.2")});
  CHECK(merge_slices(one, kHttp) == merge_slices(two, kHttp));
}

TEST_CASE("target ports parse as number or IANA name") {
  CHECK(parse_target_port("8000").value() == TargetPort{"", 8000});
  CHECK(parse_target_port("http").value() == TargetPort{"http", 0});
  CHECK(parse_target_port("vllm-http").ok());
  CHECK_FALSE(parse_target_port("").ok());
  CHECK_FALSE(parse_target_port("0").ok());
  CHECK_FALSE(parse_target_port("65536").ok());
  CHECK_FALSE(parse_target_port("HTTP").ok());
  CHECK_FALSE(parse_target_port("-http").ok());
  CHECK_FALSE(parse_target_port("a--b").ok());
  CHECK_FALSE(parse_target_port("waytoolongportname").ok());
}
