// Holding for models with no ready server, alone: one queue per model (a model that still
// has none does not stop another's release), release in flow-control order, the total
// bounds over every model, the bound on model names, TTL, removal.
#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ringgate/proxy/model_hold.h"

using namespace ringgate::proxy;

namespace {

struct Pool {
  std::set<std::string> serving;  // models with a ready server
  std::vector<std::string> dispatched;
  std::vector<std::pair<std::string, FlowOutcome>> evicted;
  int offers = 0;
};

struct Held : FlowWaiter {
  Pool* pool;
  std::string model, name;
  Held(Pool& p, std::string m, std::string n) : pool(&p), model(std::move(m)), name(std::move(n)) {}
  bool flow_try_dispatch() override {
    ++pool->offers;
    if (!pool->serving.count(model)) return false;
    pool->dispatched.push_back(name);
    return true;
  }
  void flow_evicted(FlowOutcome outcome) override { pool->evicted.emplace_back(name, outcome); }
};

struct Fixture {
  Pool pool;
  ModelHold hold;
  FlowLimits limits;
  std::vector<std::unique_ptr<Held>> held;
  FlowQueue* add(std::string model, std::string name, int32_t priority = 0, uint64_t bytes = 100, uint64_t now = 0,
                 std::string flow = "f") {
    held.push_back(std::make_unique<Held>(pool, model, name));
    return hold.hold(held.back().get(), model, priority, flow, bytes, limits, now);
  }
};

}  // namespace

TEST_CASE("model hold: nothing is offered at hold; a model with no server does not stop another's release") {
  Fixture f;
  REQUIRE(f.add("cold", "c1"));
  REQUIRE(f.add("warm", "w1"));
  REQUIRE(f.add("cold", "c2"));
  REQUIRE(f.add("warm", "w2"));
  CHECK(f.pool.offers == 0);  // the caller just found no server: no offer now
  CHECK(f.hold.size() == 4);
  CHECK(f.hold.models() == 2);
  f.pool.serving.insert("warm");
  f.hold.dispatch();
  CHECK(f.pool.dispatched == std::vector<std::string>{"w1", "w2"});
  // "cold" was offered once (its first request), its cycle stopped there: no walk over the rest.
  CHECK(f.pool.offers == 3);
  CHECK(f.hold.size() == 2);
  CHECK(f.hold.models() == 1);  // the emptied queue is dropped after the cycle
}

TEST_CASE("model hold: release in priority order, then fairness between flows") {
  Fixture f;
  REQUIRE(f.add("m", "low", -1));
  REQUIRE(f.add("m", "a1", 0, 100, 0, "a"));
  REQUIRE(f.add("m", "a2", 0, 100, 0, "a"));
  REQUIRE(f.add("m", "b1", 0, 100, 0, "b"));
  REQUIRE(f.add("m", "high", 5));
  f.pool.serving.insert("m");
  f.hold.dispatch();
  CHECK(f.pool.dispatched == std::vector<std::string>{"high", "a1", "b1", "a2", "low"});
  CHECK(f.hold.empty());
}

TEST_CASE("model hold: the total bounds cover every model together, at N and N+1") {
  Fixture f;
  f.limits.total.max_requests = 3;
  REQUIRE(f.add("a", "1"));
  REQUIRE(f.add("b", "2"));
  REQUIRE(f.add("c", "3"));           // N = 3: held
  CHECK(f.add("d", "4") == nullptr);  // N+1: refused, nothing held
  CHECK(f.add("a", "5") == nullptr);
  CHECK(f.hold.size() == 3);
  Fixture g;
  g.limits.total.max_bytes = 1000;
  REQUIRE(g.add("a", "1", 0, 600));
  REQUIRE(g.add("b", "2", 0, 400));         // exactly the bound
  CHECK(g.add("c", "3", 0, 1) == nullptr);  // one byte past it
  CHECK(g.hold.bytes() == 1000);
  // A band's own bound applies within each model's queue.
  Fixture h;
  h.limits.default_band.max_requests = 2;
  REQUIRE(h.add("a", "1"));
  REQUIRE(h.add("a", "2"));
  CHECK(h.add("a", "3") == nullptr);
  CHECK(h.add("b", "4") != nullptr);
}

TEST_CASE("model hold: at most kMaxModels model names at once; a freed name makes room") {
  Fixture f;
  for (size_t i = 0; i < ModelHold::kMaxModels; ++i) REQUIRE(f.add("m" + std::to_string(i), "r"));
  CHECK(f.add("one-more", "x") == nullptr);  // the 65th name
  CHECK(f.add("m0", "y") != nullptr);        // a held name still takes requests
  f.pool.serving.insert("m1");
  f.hold.dispatch();  // m1 released: its queue goes
  CHECK(f.add("one-more", "x") != nullptr);
}

TEST_CASE("model hold: the TTL evicts what waited that long, per model; removal takes one out at once") {
  Fixture f;
  FlowQueue* q1 = f.add("a", "early", 0, 100, 0);
  REQUIRE(q1);
  REQUIRE(f.add("b", "late", 0, 100, 500));
  FlowQueue* q3 = f.add("a", "gone", 0, 100, 600);
  REQUIRE(q3 == q1);                       // one queue per model
  CHECK(q3->remove(f.held.back().get()));  // the client went: out at once, no callback
  CHECK(f.hold.size() == 2);
  f.hold.expire(999, 1000);
  CHECK(f.pool.evicted.empty());  // 999 ms < 1 s
  f.hold.expire(1000, 1000);
  REQUIRE(f.pool.evicted.size() == 1);
  CHECK(f.pool.evicted[0] == std::pair<std::string, FlowOutcome>{"early", FlowOutcome::EvictedTTL});
  f.hold.expire(1500, 1000);
  CHECK(f.pool.evicted.size() == 2);
  CHECK(f.hold.empty());
  CHECK(f.hold.models() == 0);
}
