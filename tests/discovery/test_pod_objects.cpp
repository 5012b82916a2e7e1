// Pods, lists and watch events of any kind: what the generic watch and the
// InferencePool's pod discovery read from the API, including hostile input.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ringgate/discovery/object_watch.h"
#include "ringgate/discovery/pod_endpoints.h"
#include "ringgate/discovery/raw_object.h"

using namespace ringgate::discovery;

namespace {

std::string pod_json(const std::string& name, const std::string& ip, const std::string& ready,
                     const std::string& extra_metadata = "") {
  return R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":")" + name +
         R"(","namespace":"default","resourceVersion":"17","labels":{"app":"vllm"})" + extra_metadata +
         R"(},"spec":{"containers":[{"name":"vllm"}]},"status":{"phase":"Running","podIP":")" + ip +
         R"(","conditions":[{"type":"PodScheduled","status":"True"},{"type":"Ready","status":")" + ready + R"("}]}})";
}

}  // namespace

TEST_CASE("a pod is ready only with Ready=True, terminating once deletionTimestamp is set") {
  auto ready = parse_pod(pod_json("vllm-0", "10.0.0.1", "True"));
  REQUIRE(ready);
  CHECK(ready.value() == PodState{"vllm-0", "10.0.0.1", true, false});
  auto not_ready = parse_pod(pod_json("vllm-1", "10.0.0.2", "False"));
  REQUIRE(not_ready);
  CHECK_FALSE(not_ready.value().ready);
  auto going = parse_pod(pod_json("vllm-2", "fd00::2", "True", R"(,"deletionTimestamp":"2026-01-01T00:00:00Z")"));
  REQUIRE(going);
  CHECK(going.value().terminating);
  // Pending: no status, or no IP yet: known, no endpoint.
  auto pending = parse_pod(R"({"metadata":{"name":"p"},"status":{"phase":"Pending"}})");
  REQUIRE(pending);
  CHECK(pending.value().ip.empty());
  CHECK_FALSE(pending.value().ready);
}

TEST_CASE("hostile pods are errors, never crashes") {
  CHECK_FALSE(parse_pod(pod_json("x", "not-an-ip", "True")));
  CHECK_FALSE(parse_pod(pod_json("x", "10.0.0.1/24", "True")));
  CHECK_FALSE(parse_pod(R"({"metadata":{}})"));
  CHECK_FALSE(parse_pod(R"({"metadata":{"name":")" + std::string(300, 'a') + R"("}})"));
  CHECK_FALSE(parse_pod(R"({"metadata":{"name":"x"},"status":{"conditions":"Ready"}})"));
  CHECK_FALSE(parse_pod("[1,2]"));
  CHECK_FALSE(parse_pod("{\"metadata\":"));
  std::string many = R"({"metadata":{"name":"x"},"status":{"conditions":[)";
  for (int i = 0; i < 65; ++i) many += std::string(i ? "," : "") + R"({"type":"C","status":"True"})";
  many += "]}}";
  CHECK_FALSE(parse_pod(many));
}

TEST_CASE("pod endpoints: one per pod with an IP and per target port, sorted; readiness carried over") {
  std::map<std::string, PodState> pods{{"b", {"b", "10.0.0.2", true, false}},
                                       {"a", {"a", "10.0.0.1", false, false}},
                                       {"c", {"c", "", true, false}},
                                       {"d", {"d", "10.0.0.4", true, true}}};
  auto endpoints = pod_endpoints(pods, {8000});
  REQUIRE(endpoints.size() == 3);
  CHECK(endpoints[0].address == "10.0.0.1");
  CHECK_FALSE(is_routable(endpoints[0]));
  CHECK(endpoints[1].address == "10.0.0.2");
  CHECK(is_routable(endpoints[1]));
  CHECK(endpoints[1].pod_name == "b");
  CHECK_FALSE(is_routable(endpoints[2]));  // terminating
  CHECK(pod_endpoints(pods, {8000, 8001}).size() == 6);
}

TEST_CASE("label selectors are checked before they reach a URL") {
  auto ok = label_selector_text({{"app", "vllm"}, {"llm-d.ai/role", "decode"}});
  REQUIRE(ok);
  CHECK(ok.value() == "app=vllm,llm-d.ai/role=decode");
  CHECK(label_selector_text({{"app", ""}}));
  CHECK_FALSE(label_selector_text({}));
  CHECK_FALSE(label_selector_text({{"app", "a,b=c"}}));
  CHECK_FALSE(label_selector_text({{"app&x", "v"}}));
  CHECK_FALSE(label_selector_text({{"app", std::string(64, 'v')}}));
  CHECK_FALSE(label_selector_text({{std::string(64, 'k'), "v"}}));
  CHECK(query_escape("app=vllm,x/y=z") == "app%3Dvllm%2Cx%2Fy%3Dz");
  CHECK(collection_path("", "v1", "ns", "pods") == "/api/v1/namespaces/ns/pods");
  CHECK(collection_path("inference.networking.k8s.io", "v1", "ns", "inferencepools") ==
        "/apis/inference.networking.k8s.io/v1/namespaces/ns/inferencepools");
}

TEST_CASE("lists and watch events of any kind keep each object's JSON") {
  auto list = parse_raw_object_list(R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"99"},"items":[)" +
                                        pod_json("vllm-0", "10.0.0.1", "True") + "]}",
                                    10);
  REQUIRE(list);
  CHECK(list.value().resource_version == "99");
  REQUIRE(list.value().items.size() == 1);
  CHECK(list.value().items[0].key() == "default/vllm-0");
  auto again = parse_pod(list.value().items[0].json);
  REQUIRE(again);
  CHECK(again.value().ready);

  auto event = parse_raw_watch_event(R"({"type":"MODIFIED","object":)" + pod_json("vllm-0", "10.0.0.1", "False") + "}");
  REQUIRE(event);
  CHECK(event.value().type == WatchEventType::modified);
  CHECK(event.value().object.resource_version == "17");
  auto bookmark = parse_raw_watch_event(R"({"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"120"}}})");
  REQUIRE(bookmark);
  CHECK(bookmark.value().type == WatchEventType::bookmark);
  CHECK(bookmark.value().object.resource_version == "120");
  auto gone = parse_raw_watch_event(
      R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","code":410}})");
  REQUIRE(gone);
  CHECK(gone.value().status.code == 410);
}

TEST_CASE("hostile lists and events are errors") {
  std::string big = R"({"metadata":{"resourceVersion":"1"},"items":[)";
  for (int i = 0; i < 11; ++i) big += std::string(i ? "," : "") + R"({"metadata":{"name":"p)" + std::to_string(i) + R"("}})";
  big += "]}";
  CHECK_FALSE(parse_raw_object_list(big, 10));
  CHECK(parse_raw_object_list(big, 11));
  CHECK_FALSE(parse_raw_object_list(R"({"items":[]})", 10));  // no resourceVersion
  CHECK_FALSE(parse_raw_object_list(R"({"metadata":{"resourceVersion":"1"},"items":[{"metadata":{}}]})", 10));
  CHECK_FALSE(parse_raw_object_list(R"({"metadata":{"resourceVersion":"1"},"items":[7]})", 10));
  CHECK_FALSE(parse_raw_watch_event(R"({"type":"EXPLODED","object":{"metadata":{"name":"x"}}})"));
  CHECK_FALSE(parse_raw_watch_event(R"({"type":"ADDED"})"));
  CHECK_FALSE(parse_raw_watch_event(R"({"type":"ADDED","object":{"metadata":{"name":")" + std::string(254, 'n') + R"("}}})"));
  CHECK_FALSE(parse_raw_watch_event(R"({"type":"BOOKMARK","object":{"metadata":{}}})"));
  CHECK_FALSE(parse_raw_watch_event(R"({"type":"ERROR","object":{"kind":"Pod"}})"));
}

TEST_CASE("kv-events annotation: a port 1-65535 in decimal digits, nothing else") {
  CHECK(parse_annotation_port("5557") == 5557);
  CHECK(parse_annotation_port("1") == 1);
  CHECK(parse_annotation_port("65535") == 65535);
  const std::initializer_list<std::string_view> bad_values{
      "", "0", "65536", "99999", "123456", "-1", "+5557", " 5557", "5557 ", "55.7", "0x15",
      "tcp://10.0.0.9:5557", "5557\n", std::string_view("55\0" "7", 4)};
  for (std::string_view bad : bad_values)
    CHECK_MESSAGE(!parse_annotation_port(bad), std::string(bad));
}

TEST_CASE("kv-events annotations on a pod: ports used, a bad one ignored with a reason, the pod kept") {
  auto annotated = [](const std::string& annotations) {
    return parse_pod(pod_json("vllm-0", "10.0.0.1", "True", R"(,"annotations":)" + annotations));
  };
  auto both = annotated(
      R"({"other.io/x":"y","kv-events.ringgate.io/port":"6000","kv-events.ringgate.io/replay-port":"6001"})");
  REQUIRE(both);
  CHECK(both.value().kv_events == KvEventsAnnotation{6000, 6001, ""});
  CHECK(both.value().ready);

  auto none = parse_pod(pod_json("vllm-0", "10.0.0.1", "True"));
  REQUIRE(none);
  CHECK(none.value().kv_events == KvEventsAnnotation{});

  // A host never comes from an annotation: an address is refused, the configured port stays.
  auto elsewhere = annotated(
      R"({"kv-events.ringgate.io/port":"tcp://203.0.113.9:5557","kv-events.ringgate.io/replay-port":"6001"})");
  REQUIRE(elsewhere);
  CHECK(elsewhere.value().ready);
  CHECK(elsewhere.value().kv_events.port == 0);
  CHECK(elsewhere.value().kv_events.replay_port == 6001);
  CHECK(elsewhere.value().kv_events.problem.find("kv-events.ringgate.io/port") != std::string::npos);

  // Out of range, not a string, huge, control characters: ignored, the reason bounded and printable.
  auto range = annotated(R"({"kv-events.ringgate.io/port":"70000"})");
  REQUIRE(range);
  CHECK(range.value().kv_events.port == 0);
  CHECK_FALSE(range.value().kv_events.problem.empty());
  auto number = annotated(R"({"kv-events.ringgate.io/port":5557})");
  REQUIRE(number);
  CHECK(number.value().kv_events.port == 0);
  CHECK_FALSE(number.value().kv_events.problem.empty());
  auto huge =
      annotated(R"({"kv-events.ringgate.io/replay-port":")" + std::string(100000, '7') + R"(\u0001"})");
  REQUIRE(huge);
  CHECK(huge.value().kv_events.replay_port == 0);
  CHECK(huge.value().kv_events.problem.size() < kMaxKvEventsProblemBytes);
  CHECK(huge.value().kv_events.problem.find('\x01') == std::string::npos);
  auto not_object = annotated(R"(["kv-events.ringgate.io/port"])");
  REQUIRE(not_object);
  CHECK(not_object.value().kv_events.port == 0);
  CHECK_FALSE(not_object.value().kv_events.problem.empty());
}

TEST_CASE("pod endpoints carry the pod's kv-events annotation") {
  std::map<std::string, PodState> pods{{"a", {"a", "10.0.0.1", true, false, {6000, 0, ""}}}};
  auto found = pod_endpoints(pods, {8000});
  REQUIRE(found.size() == 1);
  CHECK(found[0].kv_events == KvEventsAnnotation{6000, 0, ""});
}

namespace {

// A ready pod whose metadata.labels is `labels` (JSON).
std::string labelled_pod(const std::string& labels) {
  return R"({"metadata":{"name":"vllm-0","labels":)" + labels +
         R"(},"status":{"podIP":"10.0.0.1","conditions":[{"type":"Ready","status":"True"}]}})";
}

}  // namespace

TEST_CASE("role label llm-d.ai/role: prefill, decode or both; absent is both") {
  using ringgate::sched::EndpointRole;
  auto role_of = [](const std::string& labels) {
    auto pod = parse_pod(labelled_pod(labels));
    REQUIRE(pod);
    CHECK(pod.value().ready);
    CHECK(pod.value().problem.empty());
    return pod.value().role;
  };
  CHECK(role_of(R"({"app":"vllm","llm-d.ai/role":"prefill"})") == EndpointRole::Prefill);
  CHECK(role_of(R"({"llm-d.ai/role":"decode","app":"vllm"})") == EndpointRole::Decode);
  CHECK(role_of(R"({"llm-d.ai/role":"both"})") == EndpointRole::Both);
  CHECK(role_of(R"({"app":"vllm"})") == EndpointRole::Both);
  CHECK(role_of(R"({"llm-d.ai/rolex":"prefill","role":"prefill"})") == EndpointRole::Both);
  CHECK(role_of(R"({"llm-d.ai/role":null})") == EndpointRole::Both);  // null reads as absent
  auto no_labels = parse_pod(R"({"metadata":{"name":"p"},"status":{"podIP":"10.0.0.1"}})");
  REQUIRE(no_labels);
  CHECK(no_labels.value().role == EndpointRole::Both);
  CHECK(no_labels.value().problem.empty());
}

TEST_CASE("role label: an unknown value is both with a bounded, printable reason; the pod is kept") {
  using ringgate::sched::EndpointRole;
  auto bad = [](const std::string& labels) {
    auto pod = parse_pod(labelled_pod(labels));
    REQUIRE(pod);
    CHECK(pod.value().ready);
    CHECK(pod.value().ip == "10.0.0.1");
    CHECK(pod.value().role == EndpointRole::Both);
    CHECK_FALSE(pod.value().problem.empty());
    CHECK(pod.value().problem.size() <= kMaxRoleProblemBytes);
    CHECK(pod.value().problem.find("llm-d.ai/role") != std::string::npos);
    return pod.value().problem;
  };
  CHECK(bad(R"({"llm-d.ai/role":"Prefill"})").find("\"Prefill\" is not prefill, decode or both") != std::string::npos);
  bad(R"({"llm-d.ai/role":""})");
  bad(R"({"llm-d.ai/role":"prefill-decode"})");
  bad(R"({"llm-d.ai/role":7})");
  bad(R"({"llm-d.ai/role":["prefill"]})");
  // An API server that does not check label values: huge, control characters, quotes.
  const std::string huge = bad(R"({"llm-d.ai/role":")" + std::string(100000, 'p') + R"(\u0001\"x"})");
  CHECK(huge.find('\x01') == std::string::npos);
  const std::string ctl = bad(R"({"llm-d.ai/role":"pre\u0001fill\"\\"})");
  CHECK(ctl.find('\x01') == std::string::npos);
  CHECK(ctl.find("\\") == std::string::npos);
  // labels not an object: the role is both, the pod still parses.
  auto weird = parse_pod(labelled_pod(R"(["llm-d.ai/role"])"));
  REQUIRE(weird);
  CHECK(weird.value().role == EndpointRole::Both);
  CHECK_FALSE(weird.value().problem.empty());
}

TEST_CASE("pod endpoints carry the pod's role, one per port") {
  using ringgate::sched::EndpointRole;
  PodState p{"p", "10.0.0.1", true, false};
  p.role = EndpointRole::Prefill;
  PodState d{"d", "10.0.0.2", true, false};
  d.role = EndpointRole::Decode;
  PodState b{"b", "10.0.0.3", true, false};
  auto found = pod_endpoints({{"p", p}, {"d", d}, {"b", b}}, {8000, 8001});
  REQUIRE(found.size() == 6);
  CHECK(found[0].role == EndpointRole::Prefill);
  CHECK(found[1].role == EndpointRole::Prefill);
  CHECK(found[2].role == EndpointRole::Decode);
  CHECK(found[3].role == EndpointRole::Decode);
  CHECK(found[4].role == EndpointRole::Both);
  CHECK(found[5].role == EndpointRole::Both);
  // A relabelled pod is a different endpoint set: the pool source republishes it.
  auto relabelled = found;
  d.role = EndpointRole::Prefill;
  CHECK(pod_endpoints({{"p", p}, {"d", d}, {"b", b}}, {8000, 8001}) != relabelled);
}

// Issue 48: data parallelism. Several target ports are one rank each (position = rank);
// a pod's annotation declares the ranks behind one port, 1..64, a bad value ignored with a
// bounded reason (the ranks are then learnt from /metrics), the pod kept.
TEST_CASE("data-parallel: a rank per target port; the size annotation bounded, a bad one ignored") {
  auto annotated = [](const std::string& value) {
    return parse_pod(pod_json("ds-0", "10.0.0.1", "True",
                              R"(,"annotations":{"data-parallel.ringgate.io/size":)" + value + "}"));
  };
  for (const auto& sample :
       std::vector<std::pair<std::string, uint32_t>>{{R"("1")", 1},
                                                     {R"("16")", 16},
                                                     {R"("64")", 64},
                                                     {R"("65")", 0},
                                                     {R"("0")", 0},
                                                     {R"("-4")", 0},
                                                     {R"("4x")", 0},
                                                     {R"("")", 0},
                                                     {"8", 0},
                                                     {"\"" + std::string(100000, '9') + "\"", 0}}) {
    const std::string& value = sample.first;  // not a structured binding: clang 14's CHECK_MESSAGE cannot capture one
    const uint32_t size = sample.second;
    auto pod = annotated(value);
    REQUIRE_MESSAGE(pod, value.substr(0, 20));
    CHECK_MESSAGE(pod.value().data_parallel_size == size, value.substr(0, 20));
    CHECK(pod.value().problem.empty() == (size != 0));
    CHECK(pod.value().problem.size() < 200);  // the value is shown bounded
  }
  std::map<std::string, PodState> pods;
  PodState pod;
  pod.name = "ds-0";
  pod.ip = "10.0.0.1";
  pod.ready = true;
  pod.data_parallel_size = 4;
  pods["ds-0"] = pod;
  auto ranks = pod_endpoints(pods, {8000, 8001, 8002});
  REQUIRE(ranks.size() == 3);
  for (int32_t r = 0; r < 3; ++r) {
    CHECK(ranks[size_t(r)].port == 8000 + r);
    CHECK(ranks[size_t(r)].rank == r);
    CHECK(ranks[size_t(r)].pod_name == "ds-0");
  }
  auto one = pod_endpoints(pods, {8000});
  REQUIRE(one.size() == 1);
  CHECK(one[0].rank == -1);  // one port: not a rank of its own; the annotation's ranks are behind it
  CHECK(one[0].data_parallel_size == 4);
}

TEST_CASE(
    "context-length label llm-d.ai/context-length-range: \"min-max\" tokens; a bad value is Malformed, said, the pod "
    "kept") {
  using ringgate::sched::ContextLengthRange;
  using ringgate::sched::ContextRangeState;
  auto pod_of = [](const std::string& labels) {
    auto pod = parse_pod(labelled_pod(labels));
    REQUIRE(pod);
    CHECK(pod.value().ready);
    CHECK(pod.value().ip == "10.0.0.1");
    return pod.value();
  };
  PodState p = pod_of(R"({"llm-d.ai/context-length-range":"0-2048","llm-d.ai/role":"prefill"})");
  CHECK(p.context_range == ContextLengthRange{ContextRangeState::Valid, 0, 2048});
  CHECK(p.role == ringgate::sched::EndpointRole::Prefill);
  CHECK(p.problem.empty());
  p = pod_of(R"({"llm-d.ai/context-length-range":"2049-1000000000"})");
  CHECK(p.context_range == ContextLengthRange{ContextRangeState::Valid, 2049, 1000000000});
  p = pod_of(R"({"app":"vllm"})");
  CHECK(p.context_range.state == ContextRangeState::None);
  CHECK(p.problem.empty());
  auto bad = [&](const std::string& labels) {
    PodState b = pod_of(labels);
    CHECK(b.context_range.state == ContextRangeState::Malformed);
    CHECK(b.problem.find("llm-d.ai/context-length-range") != std::string::npos);
    CHECK(b.problem.size() <= kMaxRoleProblemBytes);
    CHECK(b.problem.find('\x01') == std::string::npos);
    return b.problem;
  };
  CHECK(bad(R"({"llm-d.ai/context-length-range":"4096-"})") ==
        "llm-d.ai/context-length-range: \"4096-\" is not min-max, no range trusted");
  bad(R"({"llm-d.ai/context-length-range":"0-1000000001"})");
  bad(R"({"llm-d.ai/context-length-range":"8192-2048"})");
  bad(R"({"llm-d.ai/context-length-range":"0-2048,4096-8192"})");
  bad(R"({"llm-d.ai/context-length-range":""})");
  CHECK(bad(R"({"llm-d.ai/context-length-range":2048})") ==
        "llm-d.ai/context-length-range: not a string, no range trusted");
  bad(R"({"llm-d.ai/context-length-range":")" + std::string(100000, '1') + R"(\u0001"})");
  // Both labels bad: both said, the pod kept.
  PodState both = pod_of(R"({"llm-d.ai/role":"x","llm-d.ai/context-length-range":"x"})");
  CHECK(both.role == ringgate::sched::EndpointRole::Both);
  CHECK(both.context_range.state == ContextRangeState::Malformed);
  CHECK(both.problem.find("llm-d.ai/role") != std::string::npos);
  CHECK(both.problem.find("llm-d.ai/context-length-range") != std::string::npos);
  // Carried to the pod's endpoints.
  std::map<std::string, PodState> pods{{"p", pod_of(R"({"llm-d.ai/context-length-range":"0-2048"})")}};
  const auto endpoints = pod_endpoints(pods, {8000});
  REQUIRE(endpoints.size() == 1);
  CHECK(endpoints[0].context_range == ContextLengthRange{ContextRangeState::Valid, 0, 2048});
}
