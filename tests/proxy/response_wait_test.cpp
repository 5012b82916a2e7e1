// A request naming a response this replica does not know waits for the other replicas
// (proxy/response_wait.h): it goes on as soon as the table knows the response, or once
// the wait is over; never before, never twice, never when alone. And what the affinity
// learns and forgets goes to the worker's ring for the other replicas.
#include "ringgate/proxy/response_wait.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace ringgate;

namespace {

struct Owner : proxy::ResponseWaiter {
  std::vector<bool> calls;
  void response_wait_over(bool found) override { calls.push_back(found); }
};

struct Fixture {
  sched::ResponseTable table;
  proxy::ResponseAffinity affinity;
  net::Timers timers;
  Owner owner;
  proxy::ResponseWait wait{owner};
  // A GET of /v1/responses/{id}.
  void get(std::string_view id, sched::ResponseRing* ring = nullptr) {
    const std::string target = "/v1/responses/" + std::string(id);
    REQUIRE(affinity.begin(&table, ring, openai::route_for(target), target, openai::RequestFields{}, false).status == 0);
  }
};

}  // namespace

TEST_CASE("response wait: goes on the poll after another replica's id arrives, pinned to its server") {
  Fixture f;
  f.get("resp_1");
  REQUIRE(f.affinity.unplaced());
  REQUIRE(f.wait.begin(f.affinity, f.timers, 1000, 150));
  CHECK(f.wait.waiting());
  f.timers.run(1000 + proxy::ResponseWait::kPollMs);
  CHECK(f.owner.calls.empty());
  f.table.learn("resp_1", 77);  // the control thread, from the shared stream
  f.timers.run(1000 + 2 * proxy::ResponseWait::kPollMs);
  REQUIRE(f.owner.calls == std::vector<bool>{true});
  CHECK(f.affinity.pinned());
  CHECK(f.affinity.server() == 77);
  CHECK_FALSE(f.wait.waiting());
  f.timers.run(5000);
  CHECK(f.owner.calls.size() == 1);
}

TEST_CASE("response wait: an id nobody tells ends the wait at its bound, once") {
  Fixture f;
  f.get("resp_never");
  REQUIRE(f.wait.begin(f.affinity, f.timers, 0, 150));
  for (uint64_t t = 0; t < 150; ++t) f.timers.run(t);
  CHECK(f.owner.calls.empty());
  f.timers.run(150);
  REQUIRE(f.owner.calls == std::vector<bool>{false});
  CHECK_FALSE(f.affinity.pinned());
  CHECK(f.affinity.unknown_path());
  f.timers.run(10000);
  CHECK(f.owner.calls.size() == 1);
  // A late loop: the polls it missed are made up at once, the bound holds in timer time.
  Fixture g;
  g.get("resp_late");
  REQUIRE(g.wait.begin(g.affinity, g.timers, 0, 10));
  g.timers.run(500);
  CHECK(g.owner.calls == std::vector<bool>{false});
}

TEST_CASE("response wait: none alone (0 ms), for a known id, or for a request naming none") {
  Fixture f;
  f.get("resp_2");
  CHECK_FALSE(f.wait.begin(f.affinity, f.timers, 0, 0));
  f.table.learn("resp_3", 5);
  f.get("resp_3");
  CHECK_FALSE(f.wait.begin(f.affinity, f.timers, 0, 150));
  CHECK(f.affinity.pinned());
  const openai::RequestFields none;
  REQUIRE(f.affinity.begin(&f.table, nullptr, openai::route_for("/v1/responses"), "/v1/responses", none, false).status ==
          0);
  CHECK_FALSE(f.wait.begin(f.affinity, f.timers, 0, 150));
  CHECK(f.timers.next_expiry() == UINT64_MAX);
}

TEST_CASE("response wait: cancelled (the client left), it never calls back") {
  Fixture f;
  f.get("resp_4");
  REQUIRE(f.wait.begin(f.affinity, f.timers, 0, 150));
  f.wait.cancel();
  f.table.learn("resp_4", 1);
  f.timers.run(1000);
  CHECK(f.owner.calls.empty());
}

TEST_CASE("response affinity: learned and forgotten ids go to the worker's ring for the other replicas") {
  sched::ResponseTable table;
  sched::ResponseRing ring;
  ring.enable(4);
  proxy::ResponseAffinity affinity;
  const openai::RequestFields none;
  REQUIRE(affinity.begin(&table, &ring, openai::route_for("/v1/responses"), "/v1/responses", none, false).status == 0);
  affinity.answer_started(200, false, 42);
  CHECK(affinity.answer_bytes(R"({"id":"resp_abc","object":"response"})"));
  const std::string target = "/v1/responses/resp_abc";
  REQUIRE(affinity.begin(&table, &ring, openai::route_for(target), target, none, true).status == 0);
  CHECK(affinity.pinned());
  affinity.answer_started(200, false, 42);
  CHECK_FALSE(table.find("resp_abc"));
  std::vector<std::tuple<std::string, uint64_t, bool>> seen;
  ring.drain([&](const sched::ResponseRecord& r) { seen.emplace_back(std::string(r.id_view()), r.server, r.forget); });
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == std::make_tuple(std::string("resp_abc"), uint64_t(42), false));
  CHECK(seen[1] == std::make_tuple(std::string("resp_abc"), uint64_t(0), true));
  // No ring (alone), or an id beyond the bound: nothing recorded, nothing breaks.
  CHECK_FALSE(sched::record_response(nullptr, "resp_x", 1, false));
  CHECK_FALSE(sched::record_response(&ring, std::string(sched::ResponseTable::kMaxIdBytes + 1, 'r'), 1, false));
  CHECK(sched::record_response(&ring, std::string(sched::ResponseTable::kMaxIdBytes, 'r'), 1, false));
  // A full ring drops and counts.
  for (int i = 0; i < 3; ++i) CHECK(sched::record_response(&ring, "resp_y", 1, false));
  CHECK_FALSE(sched::record_response(&ring, "resp_z", 1, false));
  CHECK(ring.dropped() == 1);
}
