// JSON → EndpointSlice / EndpointSliceList / watch event parsing.
#include <doctest/doctest.h>

#include "ringgate/discovery/endpoint_slice.h"
#include "ringgate/discovery/watch_event.h"

using namespace ringgate::discovery;

namespace {

// A slice as the API server sends it in a watch event (kind/apiVersion set).
constexpr const char* kSlice = R"({
  "kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
  "metadata": {"name": "vllm-abc12", "namespace": "llm", "resourceVersion": "4711",
               "labels": {"kubernetes.io/service-name": "vllm",
                          "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
  "addressType": "IPv4",
  "endpoints": [
    {"addresses": ["10.0.0.1"], "conditions": {"ready": true, "serving": true, "terminating": false},
     "nodeName": "node-a", "zone": "zone-1",
     "targetRef": {"kind": "Pod", "namespace": "llm", "name": "vllm-0", "uid": "u0"}},
    {"addresses": ["10.0.0.2"], "conditions": {}},
    {"addresses": ["10.0.0.3"], "conditions": {"ready": false, "serving": true, "terminating": true}}
  ],
  "ports": [{"name": "http", "port": 8000, "protocol": "TCP"}, {"port": 9000}]
})";

}  // namespace

TEST_CASE("an EndpointSlice parses with optional conditions left unset") {
  auto parsed = parse_endpoint_slice(kSlice);
  REQUIRE(parsed.ok());
  const EndpointSlice& slice = parsed.value();
  CHECK(slice.name == "vllm-abc12");
  CHECK(slice.namespace_name == "llm");
  CHECK(slice.resource_version == "4711");
  CHECK(slice.service_name == "vllm");
  CHECK(slice.address_type == AddressType::ipv4);
  REQUIRE(slice.ports.size() == 2);
  CHECK(slice.ports[0].name == std::optional<std::string>("http"));
  CHECK(slice.ports[0].port == std::optional<int>(8000));
  CHECK_FALSE(slice.ports[1].name.has_value());
  CHECK(slice.ports[1].protocol == "TCP");
  REQUIRE(slice.endpoints.size() == 3);
  CHECK(slice.endpoints[0].pod_name == "vllm-0");
  CHECK(slice.endpoints[0].zone == "zone-1");
  CHECK(slice.endpoints[0].node_name == "node-a");
  CHECK(slice.endpoints[0].ready == std::optional<bool>(true));
  CHECK_FALSE(slice.endpoints[1].ready.has_value());
  CHECK_FALSE(slice.endpoints[1].serving.has_value());
  CHECK_FALSE(slice.endpoints[1].terminating.has_value());
  CHECK(slice.endpoints[2].terminating == std::optional<bool>(true));
}

TEST_CASE("null endpoints and ports are an empty slice, not an error") {
  auto parsed = parse_endpoint_slice(
      R"({"metadata":{"name":"s","resourceVersion":"1"},"addressType":"IPv6","endpoints":null,"ports":null})");
  REQUIRE(parsed.ok());
  CHECK(parsed.value().address_type == AddressType::ipv6);
  CHECK(parsed.value().endpoints.empty());
  CHECK(parsed.value().ports.empty());
}

TEST_CASE("wrong types and missing names are errors that name the field") {
  auto bad_ready = parse_endpoint_slice(
      R"({"metadata":{"name":"s"},"addressType":"IPv4","endpoints":[{"addresses":["1.2.3.4"],"conditions":{"ready":"yes"}}]})");
  REQUIRE_FALSE(bad_ready.ok());
  CHECK(bad_ready.error().message.find("endpoints[0].conditions.ready") != std::string::npos);

  auto no_name = parse_endpoint_slice(R"({"metadata":{},"addressType":"IPv4"})");
  REQUIRE_FALSE(no_name.ok());
  CHECK(no_name.error().message.find("metadata.name") != std::string::npos);

  auto bad_port = parse_endpoint_slice(R"({"metadata":{"name":"s"},"addressType":"IPv4","ports":[{"port":70000}]})");
  REQUIRE_FALSE(bad_port.ok());
  CHECK(bad_port.error().message.find("ports[0].port") != std::string::npos);

  CHECK_FALSE(parse_endpoint_slice("").ok());
  CHECK_FALSE(parse_endpoint_slice("[1,2]").ok());
  CHECK_FALSE(parse_endpoint_slice("{\"metadata\":").ok());
}

TEST_CASE("a List response gives items and the resourceVersion to watch from") {
  auto list = parse_endpoint_slice_list(R"({"kind":"EndpointSliceList","apiVersion":"discovery.k8s.io/v1",
    "metadata":{"resourceVersion":"900"},
    "items":[{"metadata":{"name":"a","resourceVersion":"5"},"addressType":"IPv4","endpoints":[{"addresses":["10.1.1.1"]}]},
             {"metadata":{"name":"b","resourceVersion":"7"},"addressType":"IPv6","endpoints":null}]})");
  REQUIRE(list.ok());
  CHECK(list.value().resource_version == "900");
  REQUIRE(list.value().items.size() == 2);
  CHECK(list.value().items[1].name == "b");

  auto wrong_kind = parse_endpoint_slice_list(R"({"kind":"PodList","metadata":{"resourceVersion":"1"},"items":[]})");
  REQUIRE_FALSE(wrong_kind.ok());
  CHECK(wrong_kind.error().message.find("PodList") != std::string::npos);
  CHECK_FALSE(parse_endpoint_slice_list(R"({"kind":"EndpointSliceList","metadata":{},"items":[]})").ok());
}

TEST_CASE("watch events: ADDED, DELETED, BOOKMARK and the 410 ERROR") {
  auto added = parse_watch_event(std::string(R"({"type":"ADDED","object":)") + kSlice + "}");
  REQUIRE(added.ok());
  CHECK(added.value().type == WatchEventType::added);
  CHECK(added.value().resource_version == "4711");
  CHECK(added.value().slice.endpoints.size() == 3);

  auto deleted = parse_watch_event(std::string(R"({"type":"DELETED","object":)") + kSlice + "}");
  REQUIRE(deleted.ok());
  CHECK(deleted.value().type == WatchEventType::deleted);

  auto bookmark = parse_watch_event(
      R"({"type":"BOOKMARK","object":{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"resourceVersion":"12746","creationTimestamp":null},"addressType":"","endpoints":null}})");
  REQUIRE(bookmark.ok());
  CHECK(bookmark.value().type == WatchEventType::bookmark);
  CHECK(bookmark.value().resource_version == "12746");

  auto expired = parse_watch_event(
      R"J({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 5 (10)","reason":"Expired","code":410}})J");
  REQUIRE(expired.ok());
  CHECK(expired.value().type == WatchEventType::error);
  CHECK(expired.value().status.code == 410);
  CHECK(expired.value().status.reason == "Expired");
  CHECK(expired.value().status.message == "too old resource version: 5 (10)");
}

TEST_CASE("bad watch events are errors") {
  CHECK_FALSE(parse_watch_event(R"({"type":"RENAMED","object":{}})").ok());
  CHECK_FALSE(parse_watch_event(R"({"type":"ADDED"})").ok());
  CHECK_FALSE(parse_watch_event(R"({"type":"ADDED","object":{"kind":"Pod","metadata":{"name":"x"}}})").ok());
  CHECK_FALSE(parse_watch_event(R"({"type":"BOOKMARK","object":{"metadata":{}}})").ok());
  CHECK_FALSE(parse_watch_event(R"({"type":"ERROR","object":{"kind":"EndpointSlice"}})").ok());
  CHECK_FALSE(parse_watch_event(R"({"type":7,"object":{}})").ok());
  CHECK_FALSE(parse_watch_event("not json").ok());
}

TEST_CASE("a Status body parses") {
  auto status = parse_kube_status(
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})");
  REQUIRE(status.ok());
  CHECK(status.value().code == 401);
  CHECK_FALSE(parse_kube_status(R"({"kind":"Pod"})").ok());
}
