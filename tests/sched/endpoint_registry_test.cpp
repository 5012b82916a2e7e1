// Endpoint ids are dense and reused after their address left (issue 12: before, ids
// were never reused and the 65,537th distinct pod address was skipped silently).
#include <doctest/doctest.h>

#include <string>

#include "ringgate/sched/endpoint_registry.h"

using namespace ringgate::sched;

namespace {
std::string host(size_t n) { return "10.0." + std::to_string(n / 256) + "." + std::to_string(n % 256); }
}  // namespace

TEST_CASE("200,000 addresses churning through a small pool never run out of ids") {
  EndpointRegistry registry(1u << 16, std::chrono::seconds(0));
  constexpr size_t kLive = 64;
  for (size_t i = 0; i < 200000; ++i) {
    EndpointId id = registry.id_for(host(i % 60000) + "-" + std::to_string(i), 8000);
    REQUIRE_MESSAGE(id != kNoEndpoint, "address ", i, " got no id");
    CHECK(id < 2 * kLive);
    if (i >= kLive) registry.release(registry.find(host((i - kLive) % 60000) + "-" + std::to_string(i - kLive), 8000));
  }
  CHECK(registry.size() == kLive);
  CHECK(registry.allocated() <= kLive + 1);
}

TEST_CASE("an address keeps its id while present; a released id waits out the quarantine") {
  EndpointRegistry registry(8, std::chrono::hours(1));
  EndpointId a = registry.id_for("10.0.0.1", 80);
  CHECK(registry.id_for("10.0.0.1", 80) == a);
  registry.release(a);
  CHECK(registry.find("10.0.0.1", 80) == kNoEndpoint);
  EndpointId b = registry.id_for("10.0.0.2", 80);
  CHECK(b != a);  // still quarantined: a request in flight to the old address must not count for the new one
}

TEST_CASE("the reuse check holds back an id that is still in use") {
  EndpointRegistry registry(2, std::chrono::seconds(0));
  EndpointId a = registry.id_for("a", 1);
  EndpointId b = registry.id_for("b", 1);
  registry.release(a);
  bool a_busy = true;
  registry.set_reuse_check([&](EndpointId id) { return !(id == a && a_busy); });
  CHECK(registry.id_for("c", 1) == kNoEndpoint);  // full: a is released but busy
  a_busy = false;
  CHECK(registry.id_for("c", 1) == a);
  CHECK(b != a);
}
