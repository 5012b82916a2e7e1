// RouteTicket: what one routed leg holds at its endpoint goes back exactly once, whoever
// owns the ticket when it ends (moved, released, destroyed), and is recorded there once.
#include <doctest/doctest.h>

#include <map>
#include <type_traits>
#include <utility>
#include <vector>

#include "ringgate/proxy/exchange_env.h"  // RouteService
#include "ringgate/proxy/route_ticket.h"

using namespace ringgate;
using namespace ringgate::proxy;

namespace {

// Counts what a ticket does to its router, per endpoint.
struct CountingRouter final : RouteService {
  std::map<uint32_t, int64_t> slots, load, prefill, awaiting;
  std::vector<std::pair<uint32_t, std::vector<uint64_t>>> recorded;
  // What a route() does: counts the slot, hands it back in its ticket.
  Routed route(const RouteRequest& request) override {
    RouteDecision d;
    d.status = next_status;
    d.endpoint_id = next_id;
    d.load_tokens = 1000 + next_id;
    d.features.ttft.uncached_prompt_tokens = 300 + next_id;
    d.prefix_hashes = next_hashes;
    if (d.status == 0) ++slots[next_id];
    return Routed(*this, d, request.sheddable);
  }
  int next_status = 0;
  uint32_t next_id = 0;
  std::span<const uint64_t> next_hashes;
  void routed(uint32_t id, std::span<const uint64_t> hashes) override {
    recorded.emplace_back(id, std::vector<uint64_t>(hashes.begin(), hashes.end()));
  }
  void released(uint32_t id, bool) override { --slots[id]; }
  void endpoint_failed(uint32_t) override {}
  void endpoint_succeeded(uint32_t) override {}
  bool disaggregating() const override { return false; }
  void prefill_sent(uint32_t id, uint32_t tokens, uint64_t) override {
    prefill[id] += tokens;
    ++awaiting[id];
  }
  void prefill_done(uint32_t id, uint32_t tokens, uint64_t) override {
    prefill[id] -= tokens;
    --awaiting[id];
  }
  void load_sent(uint32_t id, uint32_t tokens) override { load[id] += tokens; }
  void load_done(uint32_t id, uint32_t tokens) override { load[id] -= tokens; }

  // route()'s ticket, at `id`.
  RouteTicket ticket(uint32_t id, std::span<const uint64_t> hashes = {}) {
    next_id = id;
    next_hashes = hashes;
    return route(RouteRequest{}).ticket;
  }
  bool idle() const {
    for (const auto* m : {&slots, &load, &prefill, &awaiting})
      for (const auto& [id, n] : *m)
        if (n != 0) return false;
    return true;
  }
};

}  // namespace

static_assert(!std::is_copy_constructible_v<RouteTicket> && !std::is_copy_assignable_v<RouteTicket>);
static_assert(std::is_nothrow_move_constructible_v<RouteTicket> && std::is_nothrow_move_assignable_v<RouteTicket>);

TEST_CASE("a ticket's destructor gives back the slot, the token load and the pending prefill") {
  CountingRouter r;
  {
    RouteTicket t = r.ticket(1);
    t.record_at_endpoint(5);
    CHECK(r.slots[1] == 1);
    CHECK(r.load[1] == 1001);
    CHECK(r.prefill[1] == 301);
    CHECK(r.awaiting[1] == 1);
  }
  CHECK(r.idle());
}

TEST_CASE("a released ticket holds nothing: released again, destroyed, nothing more goes back") {
  CountingRouter r;
  RouteTicket t = r.ticket(2);
  t.record_at_endpoint(0);
  t.first_token();
  CHECK(r.prefill[2] == 0);
  CHECK(r.load[2] == 1002);
  t.first_token();  // once
  CHECK(r.prefill[2] == 0);
  t.release();
  CHECK(r.idle());
  CHECK_FALSE(t.held());
  t.release();
  t.first_token();
  t.record_at_endpoint(0);  // nothing held: nothing counted
  CHECK(r.idle());
}

TEST_CASE("a moved ticket is given back once, by its last owner") {
  CountingRouter r;
  RouteTicket a = r.ticket(3);
  a.record_at_endpoint(0);
  RouteTicket b = std::move(a);
  CHECK_FALSE(a.held());  // NOLINT(bugprone-use-after-move): what a move leaves is the point
  CHECK(b.held());
  a.release();
  CHECK(r.slots[3] == 1);
  CHECK(r.load[3] == 1003);
  RouteTicket c;
  c = std::move(b);
  b = RouteTicket();  // NOLINT(bugprone-use-after-move)
  CHECK(r.slots[3] == 1);
  c = r.ticket(4);  // assigned over: the old one goes back first
  CHECK(r.slots[3] == 0);
  CHECK(r.load[3] == 0);
  CHECK(r.prefill[3] == 0);
  CHECK(r.slots[4] == 1);
  c = std::move(c);  // NOLINT: self-move keeps it
  CHECK(r.slots[4] == 1);
  c.release();
  CHECK(r.idle());
}

TEST_CASE("a ticket never sent gives back only its slot") {
  CountingRouter r;
  { RouteTicket t = r.ticket(5); }
  CHECK(r.idle());
  CHECK(r.load.count(5) == 0);
  CHECK(r.recorded.empty());
}

TEST_CASE("a ticket of a decision that did not route holds nothing") {
  CountingRouter r;
  r.next_status = 503;
  Routed routed = r.route(RouteRequest{});
  CHECK_FALSE(routed.ok());
  RouteTicket t = std::move(routed.ticket);
  CHECK_FALSE(t.held());
  t.record_at_endpoint(0);
  t.release();
  CHECK(r.idle());
  CHECK(r.recorded.empty());
}

TEST_CASE("the prompt is recorded once, with the ticket's own copy of its route's hashes") {
  CountingRouter r;
  std::vector<uint64_t> scratch{11, 12, 13};
  RouteTicket t = r.ticket(6, scratch);
  scratch.assign({99, 98});  // the router's scratch, reused by its next route()
  t.record_prompt();         // a decode pick: recorded when held
  t.record_at_endpoint(0);   // ... and not again when its attempt opens
  REQUIRE(r.recorded.size() == 1);
  CHECK(r.recorded[0].first == 6);
  CHECK(r.recorded[0].second == std::vector<uint64_t>{11, 12, 13});
  t.record_at_endpoint(0);  // once: the load is not counted twice
  CHECK(r.load[6] == 1006);
  t.release();
  CHECK(r.idle());
}

TEST_CASE("each ticket, and each fresh connection of one, is a new generation") {
  CountingRouter r;
  RouteTicket a = r.ticket(7);
  RouteTicket b = r.ticket(7);
  CHECK(a.generation() != 0);
  CHECK(a.generation() != b.generation());
  const uint64_t before = a.generation();
  a.renew();
  CHECK(a.generation() != before);
  CHECK(a.generation() != b.generation());
  const uint64_t moved = a.generation();
  RouteTicket c = std::move(a);
  CHECK(c.generation() == moved);  // the same leg, the same connection
}

TEST_CASE("a route() dropped unsent gives its slot back: whoever returns early leaks nothing") {
  CountingRouter r;
  r.next_id = 8;
  {
    const Routed routed = r.route(RouteRequest{});
    REQUIRE(routed.ok());
    CHECK(routed.ticket.held());
    CHECK(r.slots[8] == 1);
  }
  CHECK(r.slots[8] == 0);
  RouteRequest shed;
  shed.sheddable = true;
  CHECK(r.route(shed).ticket.sheddable());  // given back as it was counted
  CHECK(r.idle());
}

TEST_CASE("the prefix hashes' buffer is the router's spare one: a routed leg allocates none once it is warm") {
  CountingRouter r;
  const std::vector<uint64_t> scratch{1, 2, 3, 4};
  const uint64_t* first = nullptr;
  {
    RouteTicket a = r.ticket(9, scratch);
    first = a.prefix_hashes().data();
  }
  // (Were the buffer freed, the allocator would likely give its block to this one.)
  const std::vector<uint64_t> blocker(scratch.size());
  for (int i = 0; i < 3; ++i) {
    RouteTicket b = r.ticket(9, scratch);
    CHECK(b.prefix_hashes().data() == first);  // the same buffer, given back and filled again
    CHECK(std::vector<uint64_t>(b.prefix_hashes().begin(), b.prefix_hashes().end()) == scratch);
  }
  // Two at once: the second takes a fresh one; both are kept for the next two.
  RouteTicket c = r.ticket(9, scratch);
  RouteTicket d = r.ticket(9, scratch);
  CHECK(c.prefix_hashes().data() == first);
  CHECK(d.prefix_hashes().data() != first);
  const uint64_t* second = d.prefix_hashes().data();
  c.release();
  d.release();
  RouteTicket e = r.ticket(9, scratch);
  RouteTicket f = r.ticket(9, scratch);
  CHECK(((e.prefix_hashes().data() == first && f.prefix_hashes().data() == second) ||
         (e.prefix_hashes().data() == second && f.prefix_hashes().data() == first)));
}
