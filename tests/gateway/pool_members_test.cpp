// What discovery's endpoints become for the control plane: a terminating endpoint
// (EndpointSlice conditions.terminating, a pod's deletionTimestamp) is not ready and is
// marked terminating, so it gets no new request and /debug/endpoints says why.
#include <doctest/doctest.h>

#include "ringgate/discovery/pod_endpoints.h"
#include "ringgate/gateway/pool_source.h"

using namespace ringgate;

namespace {
discovery::DiscoveredEndpoint found(std::string address, bool ready, bool serving, bool terminating) {
  discovery::DiscoveredEndpoint e;
  e.address = std::move(address);
  e.port = 8000;
  e.ready = ready;
  e.serving = serving;
  e.terminating = terminating;
  e.pod_name = "pod-" + e.address;
  return e;
}
}  // namespace

TEST_CASE("pool_members: terminating endpoints are members, not ready, marked terminating") {
  const auto members = gateway::pool_members({found("10.0.0.1", true, true, false),
                                              found("10.0.0.2", false, true, true),      // rolling update: draining
                                              found("10.0.0.3", true, true, true),       // ready yet terminating
                                              found("10.0.0.4", false, false, false)});  // just not ready
  REQUIRE(members.size() == 4);
  CHECK(members[0].ready);
  CHECK_FALSE(members[0].terminating);
  CHECK_FALSE(members[1].ready);
  CHECK(members[1].terminating);
  CHECK(members[1].name == "pod-10.0.0.2");
  CHECK_FALSE(members[2].ready);
  CHECK(members[2].terminating);
  CHECK_FALSE(members[3].ready);
  CHECK_FALSE(members[3].terminating);
}

TEST_CASE("pool_members: a pod with deletionTimestamp (Ready still True) is terminating, not ready") {
  auto pod = discovery::parse_pod(R"({"metadata":{"name":"vllm-0","deletionTimestamp":"2026-01-01T00:00:00Z"},)"
                                  R"("status":{"podIP":"10.0.0.9","conditions":[{"type":"Ready","status":"True"}]}})");
  REQUIRE(pod);
  std::map<std::string, discovery::PodState> pods{{"vllm-0", pod.value()}};
  const auto members = gateway::pool_members(discovery::pod_endpoints(pods, {8000}));
  REQUIRE(members.size() == 1);
  CHECK(members[0].host == "10.0.0.9");
  CHECK_FALSE(members[0].ready);
  CHECK(members[0].terminating);
}
