// A request naming a response this replica does not know waits for the other replicas
// (proxy/response_wait.h): it goes on when the control thread announces its id
// (proxy/response_waiters.h), or once the wait is over; never before, never twice, never
// when alone, and nothing runs in between. And what the affinity
// learns and forgets goes to the worker's ring for the other replicas.
#include "ringgate/proxy/response_wait.h"

#include "ringgate/proxy/response_waiters.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

using namespace ringgate;

namespace {

struct Owner : proxy::ResponseWaiter {
  std::vector<bool> calls;
  void response_wait_over(bool found) override { calls.push_back(found); }
};

// One worker's waits: the table, the control thread's announcements (one inbox), the
// worker's waiters and timers.
struct Worker {
  proxy::ResponseTable table;
  proxy::ResponseArrivals arrivals{1};
  proxy::ResponseWaiters waiters{&arrivals.inbox(0)};
  net::Timers timers;
};

// One request: its affinity, its wait, what its owner was told.
struct Request {
  Worker& worker;
  proxy::ResponseAffinity affinity;
  Owner owner;
  proxy::ResponseWait wait{owner};
  explicit Request(Worker& w) : worker(w) {}
  // A GET of /v1/responses/{id}; true when it waits.
  bool get(std::string_view id, uint64_t now_ms = 1000, uint64_t wait_ms = 150, proxy::ResponseRing* ring = nullptr) {
    const std::string target = "/v1/responses/" + std::string(id);
    REQUIRE(
        affinity.begin(&worker.table, ring, openai::route_for(target), target, openai::RequestFields{}, false).status ==
        0);
    return wait.begin(affinity, &worker.waiters, worker.timers, now_ms, wait_ms);
  }
};

// The control thread: learned from another replica, announced, woken.
void arrives(Worker& w, std::string_view id, uint64_t server) {
  REQUIRE(w.table.learn(id, server));
  w.arrivals.arrived(id);
  w.arrivals.wake();
}

}  // namespace

TEST_CASE("response wait: woken when another replica's id arrives, pinned to its server, no timer in between") {
  Worker w;
  Request r(w);
  REQUIRE(r.get("resp_1"));
  CHECK(r.wait.waiting());
  CHECK(w.waiters.size() == 1);
  CHECK(w.arrivals.inbox(0).waiters.load() == 1);
  // Nothing runs while nothing arrives: no timer before the bound.
  CHECK(w.timers.next_expiry() == 1000 + 150);
  arrives(w, "resp_1", 77);
  CHECK(r.owner.calls.empty());  // the worker has not read its inbox yet
  w.waiters.take_arrivals();
  REQUIRE(r.owner.calls == std::vector<bool>{true});
  CHECK(r.affinity.pinned());
  CHECK(r.affinity.server() == 77);
  CHECK_FALSE(r.wait.waiting());
  CHECK(w.waiters.size() == 0);
  CHECK(w.arrivals.inbox(0).waiters.load() == 0);
  w.timers.run(5000);
  CHECK(r.owner.calls.size() == 1);
}

TEST_CASE("response wait: only the waits whose id arrived go on; the others keep waiting") {
  Worker w;
  std::vector<std::unique_ptr<Request>> requests;
  for (int i = 0; i < 300; ++i) {
    requests.push_back(std::make_unique<Request>(w));
    REQUIRE(requests.back()->get("resp_" + std::to_string(i % 100)));  // three waits per id
  }
  CHECK(w.waiters.size() == 300);
  arrives(w, "resp_7", 7);
  arrives(w, "resp_unrelated", 1);
  w.waiters.take_arrivals();
  for (int i = 0; i < 300; ++i) {
    CAPTURE(i);
    CHECK(requests[size_t(i)]->owner.calls == (i % 100 == 7 ? std::vector<bool>{true} : std::vector<bool>{}));
  }
  CHECK(w.waiters.size() == 297);
  // The rest end at their bound, with one last look (one learnt meanwhile but never
  // announced, as an id of this replica's own is not).
  w.table.learn("resp_8", 8);
  w.timers.run(1000 + 150);
  for (int i = 0; i < 300; ++i) {
    CAPTURE(i);
    if (i % 100 == 7) continue;
    CHECK(requests[size_t(i)]->owner.calls == std::vector<bool>{i % 100 == 8});
  }
  CHECK(w.waiters.size() == 0);
}

TEST_CASE("response wait: an id nobody tells ends the wait at its bound, once") {
  Worker w;
  Request r(w);
  REQUIRE(r.get("resp_never", 0, 150));
  w.timers.run(149);
  CHECK(r.owner.calls.empty());
  w.timers.run(150);
  REQUIRE(r.owner.calls == std::vector<bool>{false});
  CHECK_FALSE(r.affinity.pinned());
  CHECK(r.affinity.unknown_path());
  CHECK(w.waiters.size() == 0);
  w.timers.run(10000);
  CHECK(r.owner.calls.size() == 1);
  // Without waiters (nothing announces), a wait is its timer and one last look.
  Request alone(w);
  const std::string target = "/v1/responses/resp_late";
  REQUIRE(alone.affinity.begin(&w.table, nullptr, openai::route_for(target), target, openai::RequestFields{}, false)
              .status == 0);
  REQUIRE(alone.wait.begin(alone.affinity, nullptr, w.timers, 20000, 10));
  w.table.learn("resp_late", 3);
  w.timers.run(20010);
  CHECK(alone.owner.calls == std::vector<bool>{true});
}

TEST_CASE("response wait: an id that arrives before the wait is registered is found at once") {
  // The control thread learnt it but saw no waiter (the inbox's count was 0): the lookup
  // after registering finds it, and there is no wait.
  Worker w;
  Request r(w);
  const std::string target = "/v1/responses/resp_race";
  REQUIRE(
      r.affinity.begin(&w.table, nullptr, openai::route_for(target), target, openai::RequestFields{}, false).status ==
      0);
  REQUIRE(r.affinity.unplaced());
  arrives(w, "resp_race", 5);  // after the affinity's first lookup, before the wait
  CHECK(w.arrivals.announced() == 0);
  CHECK_FALSE(r.wait.begin(r.affinity, &w.waiters, w.timers, 0, 150));
  CHECK(r.affinity.pinned());
  CHECK(w.waiters.size() == 0);
  CHECK(w.timers.next_expiry() == UINT64_MAX);
}

TEST_CASE("response wait: an inbox that overflowed makes every wait look again, once") {
  Worker w;
  Request a(w), b(w);
  REQUIRE(a.get("resp_a"));
  REQUIRE(b.get("resp_b"));
  for (size_t i = 0; i < proxy::ResponseArrivals::kRingSize + 1; ++i) w.arrivals.arrived("resp_noise");
  CHECK(w.arrivals.inbox(0).overflowed.load());
  w.table.learn("resp_b", 2);  // its hash was dropped with the overflow
  w.arrivals.wake();
  w.waiters.take_arrivals();
  CHECK(a.owner.calls.empty());
  CHECK(b.owner.calls == std::vector<bool>{true});
  CHECK_FALSE(w.arrivals.inbox(0).overflowed.load());
  CHECK(w.waiters.size() == 1);
}

TEST_CASE("response wait: none alone (0 ms), for a known id, or for a request naming none") {
  Worker w;
  Request r(w);
  CHECK_FALSE(r.get("resp_2", 0, 0));
  w.table.learn("resp_3", 5);
  CHECK_FALSE(r.get("resp_3"));
  CHECK(r.affinity.pinned());
  const openai::RequestFields none;
  REQUIRE(
      r.affinity.begin(&w.table, nullptr, openai::route_for("/v1/responses"), "/v1/responses", none, false).status ==
      0);
  CHECK_FALSE(r.wait.begin(r.affinity, &w.waiters, w.timers, 0, 150));
  CHECK(w.timers.next_expiry() == UINT64_MAX);
  CHECK(w.waiters.size() == 0);
}

TEST_CASE("response wait: cancelled (the client left) or destroyed, it never calls back and leaves no waiter") {
  Worker w;
  Request r(w);
  REQUIRE(r.get("resp_4", 0));
  r.wait.cancel();
  CHECK(w.waiters.size() == 0);
  CHECK(w.arrivals.inbox(0).waiters.load() == 0);
  arrives(w, "resp_4", 1);
  w.waiters.take_arrivals();
  w.timers.run(1000);
  CHECK(r.owner.calls.empty());
  {
    Request gone(w);
    REQUIRE(gone.get("resp_5", 0));
    CHECK(w.waiters.size() == 1);
  }
  CHECK(w.waiters.size() == 0);
  arrives(w, "resp_5", 1);
  w.waiters.take_arrivals();
}

// An owner that, told its id arrived, ends another ready request (a client connection
// closing the other's exchange): the other is never called back.
TEST_CASE("response wait: an owner going on may cancel another ready wait") {
  struct Canceller : proxy::ResponseWaiter {
    proxy::ResponseWait* other = nullptr;
    int calls = 0;
    void response_wait_over(bool) override {
      ++calls;
      other->cancel();
    }
  };
  struct Waiting {
    proxy::ResponseAffinity affinity;
    Canceller owner;
    proxy::ResponseWait wait{owner};
  };
  Worker w;
  Waiting a, b;
  a.owner.other = &b.wait;
  b.owner.other = &a.wait;
  const std::string target = "/v1/responses/resp_same";
  for (Waiting* x : {&a, &b}) {
    REQUIRE(x->affinity.begin(&w.table, nullptr, openai::route_for(target), target, openai::RequestFields{}, false)
                .status == 0);
    REQUIRE(x->wait.begin(x->affinity, &w.waiters, w.timers, 0, 150));
  }
  arrives(w, "resp_same", 9);
  w.waiters.take_arrivals();
  CHECK(a.owner.calls + b.owner.calls == 1);
  CHECK(w.waiters.size() == 0);
  w.timers.run(1000);
  CHECK(a.owner.calls + b.owner.calls == 1);
}

TEST_CASE("response affinity: learned and forgotten ids go to the worker's ring for the other replicas") {
  proxy::ResponseTable table;
  proxy::ResponseRing ring;
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
  ring.drain([&](const proxy::ResponseRecord& r) { seen.emplace_back(std::string(r.id_view()), r.server, r.forget); });
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == std::make_tuple(std::string("resp_abc"), uint64_t(42), false));
  CHECK(seen[1] == std::make_tuple(std::string("resp_abc"), uint64_t(0), true));
  // No ring (alone), or an id beyond the bound: nothing recorded, nothing breaks.
  CHECK_FALSE(proxy::record_response(nullptr, "resp_x", 1, false));
  CHECK_FALSE(proxy::record_response(&ring, std::string(proxy::ResponseTable::kMaxIdBytes + 1, 'r'), 1, false));
  CHECK(proxy::record_response(&ring, std::string(proxy::ResponseTable::kMaxIdBytes, 'r'), 1, false));
  // A full ring drops and counts.
  for (int i = 0; i < 3; ++i) CHECK(proxy::record_response(&ring, "resp_y", 1, false));
  CHECK_FALSE(proxy::record_response(&ring, "resp_z", 1, false));
  CHECK(ring.dropped() == 1);
}
