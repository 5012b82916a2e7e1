// The flow-control queue alone: bands, fairness across flows, bounds and evictions,
// TTL, removal, and the cross-worker rule (no lower band while another worker holds a
// higher one).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ringgate/proxy/flow_queue.h"

using namespace ringgate::proxy;

namespace {

struct Log {
  std::vector<std::string> dispatched;
  std::vector<std::pair<std::string, FlowOutcome>> evicted;
  bool saturated = true;  // the pool: dispatch offers are refused while true
  int offers = 0;
};

struct Waiter : FlowWaiter {
  Log* log;
  std::string name;
  Waiter(Log& l, std::string n) : log(&l), name(std::move(n)) {}
  bool flow_try_dispatch() override {
    ++log->offers;
    if (log->saturated) return false;
    log->dispatched.push_back(name);
    return true;
  }
  void flow_evicted(FlowOutcome outcome) override { log->evicted.emplace_back(name, outcome); }
};

FlowLimits unbounded() { return FlowLimits{}; }

}  // namespace

TEST_CASE("flow queue: highest band first, flows of a band take turns, FCFS within a flow") {
  Log log;
  FlowQueue q;
  std::vector<std::unique_ptr<Waiter>> w;
  auto add = [&](std::string name, int32_t priority, std::string flow) {
    w.push_back(std::make_unique<Waiter>(log, name));
    REQUIRE(q.enqueue(w.back().get(), priority, flow, 100, unbounded(), 0));
  };
  add("s1", -1, "a");
  add("h1", 0, "heavy");
  add("h2", 0, "heavy");
  add("h3", 0, "heavy");
  add("l1", 0, "light");
  add("c1", 10, "x");
  add("l2", 0, "light");
  add("s2", -1, "a");
  CHECK(log.dispatched.empty());  // saturated: every offer refused, nothing lost
  CHECK(q.size() == 8);
  CHECK(q.highest_priority() == 10);
  log.saturated = false;
  q.dispatch();
  CHECK(log.dispatched == std::vector<std::string>{"c1", "h1", "l1", "h2", "l2", "h3", "s1", "s2"});
  CHECK(q.empty());
  CHECK(q.bytes() == 0);
}

TEST_CASE("flow queue: a refused offer keeps the request at its place and stops the cycle") {
  Log log;
  FlowQueue q;
  Waiter a(log, "a"), b(log, "b");
  REQUIRE(q.enqueue(&a, 0, "f", 1, unbounded(), 0));
  REQUIRE(q.enqueue(&b, 0, "f", 1, unbounded(), 0));
  const int offers = log.offers;
  q.dispatch();
  CHECK(log.offers == offers + 1);  // one offer, refused: the cycle stopped
  log.saturated = false;
  q.dispatch();
  CHECK(log.dispatched == std::vector<std::string>{"a", "b"});
}

TEST_CASE("flow queue: band bounds (requests, bytes) refuse; the total bound evicts lower bands first") {
  Log log;
  FlowQueue q;
  FlowLimits limits;
  limits.bands.push_back({-1, BandLimits{2, 1000}});
  limits.bands.push_back({10, BandLimits{100, 1000}});
  limits.total = BandLimits{3, UINT64_MAX};
  Waiter s1(log, "s1"), s2(log, "s2"), s3(log, "s3"), c1(log, "c1"), c2(log, "c2"), c3(log, "c3"), c4(log, "c4");
  REQUIRE(q.enqueue(&s1, -1, "shed", 10, limits, 0));
  REQUIRE(q.enqueue(&s2, -1, "shed", 10, limits, 0));
  CHECK_FALSE(q.enqueue(&s3, -1, "shed", 10, limits, 0));  // band full, nobody to displace
  CHECK(log.evicted.empty());
  REQUIRE(q.enqueue(&c1, 10, "crit", 10, limits, 0));      // total 3 reached
  REQUIRE(q.enqueue(&c2, 10, "crit", 10, limits, 0));      // over the total: the sheddable band gives way
  REQUIRE(log.evicted.size() == 1);
  CHECK(log.evicted[0].first == "s2");                     // the newest of the band
  CHECK(log.evicted[0].second == FlowOutcome::EvictedDisplaced);
  REQUIRE(q.enqueue(&c3, 10, "crit", 10, limits, 0));
  CHECK(log.evicted.size() == 2);
  CHECK(log.evicted[1].first == "s1");
  CHECK_FALSE(q.enqueue(&c4, 10, "crit", 10, limits, 0));  // only its own band left, one flow: refused
  CHECK(q.size() == 3);
  // A request larger than its band's byte bound is refused without evicting anything.
  Waiter big(log, "big");
  CHECK_FALSE(q.enqueue(&big, 10, "crit", 5000, limits, 0));
  CHECK(log.evicted.size() == 2);
}

TEST_CASE("flow queue: at the band bound the most backlogged flow gives up its newest request") {
  Log log;
  FlowQueue q;
  FlowLimits limits;
  limits.default_band = BandLimits{4, UINT64_MAX};
  std::vector<std::unique_ptr<Waiter>> heavy;
  for (int i = 0; i < 4; ++i) {
    heavy.push_back(std::make_unique<Waiter>(log, "h" + std::to_string(i)));
    REQUIRE(q.enqueue(heavy.back().get(), 0, "heavy", 1, limits, 0));
  }
  Waiter l1(log, "l1"), l2(log, "l2"), l3(log, "l3"), h4(log, "h4");
  REQUIRE(q.enqueue(&l1, 0, "light", 1, limits, 0));  // heavy 4 > light 0 + 1: h3 goes
  REQUIRE(q.enqueue(&l2, 0, "light", 1, limits, 0));  // heavy 3 > light 1 + 1: h2 goes
  CHECK_FALSE(q.enqueue(&l3, 0, "light", 1, limits, 0));  // heavy 2, light 2: even, refused
  CHECK_FALSE(q.enqueue(&h4, 0, "heavy", 1, limits, 0));
  REQUIRE(log.evicted.size() == 2);
  CHECK(log.evicted[0].first == "h3");
  CHECK(log.evicted[1].first == "h2");
}

TEST_CASE("flow queue: TTL evicts what waited too long; remove() takes a request out silently") {
  Log log;
  FlowQueue q;
  Waiter a(log, "a"), b(log, "b"), c(log, "c");
  REQUIRE(q.enqueue(&a, 0, "f", 5, unbounded(), 1000));
  REQUIRE(q.enqueue(&b, 0, "g", 5, unbounded(), 1500));
  REQUIRE(q.enqueue(&c, 5, "g", 5, unbounded(), 1600));
  CHECK(q.remove(&c));
  CHECK_FALSE(q.remove(&c));
  q.expire(1999, 1000);
  CHECK(log.evicted.empty());
  q.expire(2000, 1000);
  REQUIRE(log.evicted.size() == 1);
  CHECK(log.evicted[0].first == "a");
  CHECK(log.evicted[0].second == FlowOutcome::EvictedTTL);
  CHECK(q.size() == 1);
  CHECK(q.bytes() == 5);
  q.expire(2600, 1000);
  CHECK(q.empty());
  CHECK(log.dispatched.empty());
}

TEST_CASE("flow queue: a worker does not dispatch a band while another worker holds a higher one") {
  Log log;
  log.saturated = false;
  FlowShared shared;
  FlowQueue w0(&shared, 0, 2), w1(&shared, 1, 2);
  shared.publish(1, 10);  // worker 1 holds a critical request (as if its pool view were still saturated)
  Waiter s(log, "s");
  REQUIRE(w0.enqueue(&s, -1, "f", 1, unbounded(), 0));
  CHECK(log.dispatched.empty());
  CHECK(shared.highest_elsewhere(1, 2) == -1);  // worker 0 published its sheddable band
  shared.publish(1, FlowShared::kNone);          // worker 1's critical request left
  w0.dispatch();
  CHECK(log.dispatched == std::vector<std::string>{"s"});
  CHECK(shared.highest_elsewhere(1, 2) == FlowShared::kNone);
}

TEST_CASE("flow queue: outcome names are GAIE's") {
  CHECK(std::string(flow_outcome_name(FlowOutcome::Dispatched)) == "Dispatched");
  CHECK(std::string(flow_outcome_name(FlowOutcome::RejectedCapacity)) == "RejectedCapacity");
  CHECK(std::string(flow_outcome_name(FlowOutcome::EvictedTTL)) == "EvictedTTL");
  CHECK(std::string(flow_outcome_name(FlowOutcome::EvictedContextCancelled)) == "EvictedContextCancelled");
}

TEST_CASE("flow queue: while a dispatch offer is out, other workers still see the band waiting") {
  // An offer the pool refuses puts the request back: in between, another worker must not
  // see an empty queue here and dispatch a lower band.
  FlowShared shared;
  FlowQueue w0(&shared, 0, 2);
  struct Probe : FlowWaiter {
    FlowShared* shared;
    std::vector<int32_t> seen;
    bool accept = false;
    bool flow_try_dispatch() override {
      seen.push_back(shared->highest_elsewhere(1, 2));
      return accept;
    }
    void flow_evicted(FlowOutcome) override {}
  } probe;
  probe.shared = &shared;
  REQUIRE(w0.enqueue(&probe, 10, "f", 1, unbounded(), 0));  // offered at once (not queued yet), refused
  w0.dispatch();
  probe.accept = true;
  w0.dispatch();
  REQUIRE(probe.seen.size() == 3);
  CHECK(probe.seen[0] == FlowShared::kNone);  // the first offer came before it joined the queue
  CHECK(probe.seen[1] == 10);
  CHECK(probe.seen[2] == 10);
  CHECK(shared.highest_elsewhere(1, 2) == FlowShared::kNone);  // gone once dispatched
}

TEST_CASE("flow fairness: a flow on one worker gets its share of a band served by two workers") {
  // Worker 0 holds only the heavy tenant; worker 1 holds the heavy and the light one.
  // Worker 0 is offered every freed slot first (its completions come first): with
  // per-worker round robin the light tenant would get nothing from worker 0 and at
  // most half of worker 1's turns.
  FlowShared shared;
  FlowQueue w0(&shared, 0, 2), w1(&shared, 1, 2);
  struct Slots {
    int free = 0;
    std::vector<std::string> served;
  } slots;
  struct Req : FlowWaiter {
    Slots* slots;
    std::string tenant;
    bool flow_try_dispatch() override {
      if (slots->free == 0) return false;
      --slots->free;
      slots->served.push_back(tenant);
      return true;
    }
    void flow_evicted(FlowOutcome) override {}
  };
  std::vector<std::unique_ptr<Req>> reqs;
  auto add = [&](FlowQueue& q, std::string tenant) {
    reqs.push_back(std::make_unique<Req>());
    reqs.back()->slots = &slots;
    reqs.back()->tenant = tenant;
    REQUIRE(q.enqueue(reqs.back().get(), 0, tenant, 1, unbounded(), 0));
  };
  for (int i = 0; i < 60; ++i) add(w0, "heavy");
  for (int i = 0; i < 20; ++i) add(w1, "heavy");
  for (int i = 0; i < 20; ++i) add(w1, "light");
  CHECK(shared.fairness.waiting() == 100);
  for (int round = 0; round < 40; ++round) {
    slots.free = 1;
    w0.dispatch();
    w1.dispatch();
    REQUIRE(slots.free == 0);  // the slot never idles: whoever is behind takes it
  }
  size_t light = 0;
  for (const std::string& t : slots.served) light += t == "light";
  CHECK(light >= 19);
  CHECK(light <= 21);
  CHECK(shared.fairness.waiting() == 60);
  // Requests that leave without being served leave the table too; nothing is kept.
  for (auto& r : reqs) {
    w0.remove(r.get());
    w1.remove(r.get());
  }
  CHECK(shared.fairness.waiting() == 0);
  CHECK(shared.fairness.flows() == 0);
}

TEST_CASE("flow fairness: a flow that starts to wait starts level with the least served, not at zero") {
  FlowFairness f;
  f.joined(0, "a");
  for (int i = 0; i < 5; ++i) {
    f.joined(0, "a");
    f.left(0, "a", true);
  }
  CHECK(f.served(0, "a") == 5);
  f.joined(0, "b");  // arrives late: level with a, no burst of 5 catch-up turns
  CHECK(f.served(0, "b") == 5);
  const std::string_view both[] = {"a", "b"};
  CHECK(f.pick(0, both) == 0);  // equals: the first in turn order
  f.left(0, "a", true);         // a's last request: a leaves the table
  CHECK(f.flows() == 1);
  const std::string_view only_a[] = {"a"};
  f.joined(0, "a");
  CHECK(f.pick(0, only_a) == 0);
  // b is served twice more (on another worker): a is behind, never held back; b is.
  f.joined(0, "b");
  f.joined(0, "b");
  f.left(0, "b", true);
  f.left(0, "b", true);
  const std::string_view only_b[] = {"b"};
  CHECK(f.pick(0, only_b) == -1);
  CHECK(f.pick(1, only_b) == 0);  // other bands are separate
}
