#include "ringgate/sched/scheduler.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "ringgate/sched/inflight_counters.h"
#include "ringgate/sched/prefix_hasher.h"
#include "ringgate/sched/prefix_index.h"
#include "ringgate/sched/rendezvous.h"
#include "sched_test_support.h"

using namespace ringgate::sched;
using namespace ringgate::sched::test;

namespace {

struct Fixture {
  PrefixIndex index{100000, 1024};
  InflightCounters inflight;
  PrefixHasher hasher{64};

  explicit Fixture(size_t endpoints = 8) {
    for (EndpointId i = 0; i < endpoints; ++i) inflight.ensure(i);
  }
  std::vector<uint64_t> hashes(const std::string& prompt, std::string_view model = "m") const {
    std::vector<uint64_t> out;
    std::string_view part(prompt);
    hasher.hash(model, std::span<const std::string_view>(&part, 1), out);
    return out;
  }
};

PickRequest request(std::span<const uint64_t> h, std::string_view model = "m") {
  PickRequest r;
  r.model = model;
  r.prefix_hashes = h;
  r.now = fresh_now();
  return r;
}

std::string prompt(int family, int variant, size_t shared_bytes = 2000, size_t own_bytes = 100) {
  std::string s = "system prompt family " + std::to_string(family) + ": ";
  while (s.size() < shared_bytes) s += "You are a helpful assistant. ";
  s += " question " + std::to_string(variant) + ": ";
  while (s.size() < shared_bytes + own_bytes) s += char('a' + variant % 26);
  return s;
}

}  // namespace

TEST_CASE("scheduler: status for unknown model, none routable, all excluded, saturated") {
  Fixture f;
  std::vector<EndpointState> v = make_pool(2);
  v[1].routable = false;
  v.push_back(make_endpoint(2, "down-model", 0, 0, false));
  EndpointSnapshot snap(std::move(v));
  Scheduler s(SchedulerConfig{}, f.index, f.inflight);
  Rng rng;
  CHECK(s.pick(snap, request({}, "nope"), rng).status == PickStatus::UnknownModel);
  CHECK(s.pick(snap, request({}, "down-model"), rng).status == PickStatus::NoneRoutable);
  PickRequest r = request({});
  EndpointId tried[] = {0};
  r.exclude = tried;
  CHECK(s.pick(snap, r, rng).status == PickStatus::AllExcluded);

  std::vector<EndpointState> full = make_pool(2);
  full[0].metrics.all.waiting = 10;
  full[1].metrics.all.kv_cache_usage = 0.95;
  EndpointSnapshot snap_full(std::move(full));
  PickRequest shed = request({});
  shed.sheddable = true;
  CHECK(s.pick(snap_full, shed, rng).status == PickStatus::Saturated);
  shed.sheddable = false;
  CHECK(s.pick(snap_full, shed, rng).ok());
  CHECK(std::string(to_string(PickStatus::Saturated)).find("saturated") != std::string::npos);
}

TEST_CASE("scheduler: the scorers of non-zero weight run, in registry order; weight 0 costs nothing") {
  Fixture f;
  std::vector<EndpointState> v;
  v.push_back(make_endpoint(0, "m", 8, 0.1));  // long queue, empty KV cache
  v.push_back(make_endpoint(1, "m", 0, 0.9));  // short queue, full KV cache
  EndpointSnapshot snap(std::move(v));
  Rng rng;
  SchedulerConfig defaults;
  CHECK(weight_of(defaults.weights, "queue") == 2);  // llm-d's tuned defaults
  CHECK(weight_of(defaults.weights, "kv-cache") == 2);
  CHECK(weight_of(defaults.weights, "prefix") == 3);
  for (size_t slot = 0; slot < kScorerCount; ++slot)
    if (kScorers[slot].name != "queue" && kScorers[slot].name != "kv-cache" && kScorers[slot].name != "prefix")
      CHECK_MESSAGE(defaults.weights[slot] == 0, "a new scorer is off unless configured: ", kScorers[slot].name);

  SchedulerConfig kv_only;
  kv_only.weights = {};
  kv_only.weights[slot_of("kv-cache")] = 1;
  Scheduler s(kv_only, f.index, f.inflight);
  PickResult r = s.pick(snap, request({}), rng);
  REQUIRE(r.ok());
  CHECK(r.endpoint == 0);  // the queue does not count
  for (size_t step = 0; step < kPluginStepCount; ++step)
    CHECK(r.step_ran[step] == (step == slot_of("kv-cache") || step == kPickerStep));
  for (const EndpointSignals& c : s.last_candidates()) {
    CHECK(score_of(c, "queue") == 0);  // not run
    CHECK(c.total == doctest::Approx(score_of(c, "kv-cache")));
  }

  SchedulerConfig queue_only;
  queue_only.weights = {};
  queue_only.weights[slot_of("queue")] = 1;
  Scheduler q(queue_only, f.index, f.inflight);
  r = q.pick(snap, request({}), rng);
  REQUIRE(r.ok());
  CHECK(r.endpoint == 1);
  CHECK(kPluginSteps[kPickerStep].type == "max-score-picker");
  CHECK(kPluginSteps[slot_of("prefix")].type == "prefix-cache-scorer");
}

TEST_CASE("scheduler: without prefix, the shortest queue and emptiest KV cache win") {
  Fixture f;
  std::vector<EndpointState> v;
  v.push_back(make_endpoint(0, "m", 8, 0.9));
  v.push_back(make_endpoint(1, "m", 0, 0.1));
  v.push_back(make_endpoint(2, "m", 4, 0.5));
  EndpointSnapshot snap(std::move(v));
  Scheduler s(SchedulerConfig{}, f.index, f.inflight);
  Rng rng;
  PickResult r = s.pick(snap, request({}), rng);
  REQUIRE(r.ok());
  CHECK(r.endpoint == 1);
  CHECK(r.reason == PickReason::Score);
  CHECK(s.last_candidates().size() == 3);
  // Local in-flight counts join the queue signal at once.
  for (int i = 0; i < 20; ++i) f.inflight.add(1);
  CHECK(s.pick(snap, request({}), rng).endpoint != 1);
}

TEST_CASE("scheduler: a routed prefix comes back to the same endpoint; hit ratio reported") {
  Fixture f;
  EndpointSnapshot snap(make_pool(8));
  Scheduler s(SchedulerConfig{}, f.index, f.inflight);
  Rng rng(1);
  auto h = f.hashes(prompt(1, 1));
  PickResult first = s.pick(snap, request(h), rng);
  REQUIRE(first.ok());
  CHECK(first.reason == PickReason::PrefixPlacement);
  CHECK(first.matched_blocks == 0);
  s.on_routed(first.endpoint, h);
  auto h2 = f.hashes(prompt(1, 2));  // same system prompt, other question
  PickResult second = s.pick(snap, request(h2), rng);
  CHECK(second.endpoint == first.endpoint);
  CHECK(second.reason == PickReason::Score);
  CHECK(second.matched_blocks > 0);
  CHECK(second.prefix_hit_ratio() > 0.8);
  CHECK(second.prefix_hit_ratio() < 1.0);
}

TEST_CASE("scheduler: unseen prefixes are placed by rendezvous, the same in every scheduler instance") {
  Fixture f1, f2;
  EndpointSnapshot snap1(make_pool(16));
  // A second gateway replica: same addresses, different ids and order.
  std::vector<EndpointState> other = make_pool(16);
  std::reverse(other.begin(), other.end());
  for (size_t i = 0; i < other.size(); ++i) other[i].id = EndpointId(i);
  EndpointSnapshot snap2(std::move(other));
  Scheduler s1(SchedulerConfig{}, f1.index, f1.inflight);
  Scheduler s2(SchedulerConfig{}, f2.index, f2.inflight);
  Rng r1(1), r2(999);
  std::map<std::string, int> spread;
  for (int fam = 0; fam < 64; ++fam) {
    auto h = f1.hashes(prompt(fam, 0));
    PickResult a = s1.pick(snap1, request(h), r1);
    PickResult b = s2.pick(snap2, request(h), r2);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a.reason == PickReason::PrefixPlacement);
    std::string addr_a = snap1.at(a.index).address.text(), addr_b = snap2.at(b.index).address.text();
    CHECK(addr_a == addr_b);
    spread[addr_a]++;
  }
  CHECK(spread.size() >= 8);  // 64 prefixes spread over most of 16 endpoints
}

TEST_CASE("scheduler: load guard makes a hot prefix spill to other endpoints") {
  Fixture f;
  EndpointSnapshot snap(make_pool(4));
  Scheduler s(SchedulerConfig{}, f.index, f.inflight);
  Rng rng(3);
  auto h = f.hashes(prompt(5, 0));
  PickResult home = s.pick(snap, request(h), rng);
  REQUIRE(home.ok());
  std::map<EndpointId, int> share;
  // Every request of the hot prefix stays in flight: the home endpoint's load
  // climbs until the guard removes its bonus and traffic spills.
  for (int i = 0; i < 200; ++i) {
    auto hi = f.hashes(prompt(5, i));
    PickResult r = s.pick(snap, request(hi), rng);
    REQUIRE(r.ok());
    s.on_routed(r.endpoint, hi);
    f.inflight.add(r.endpoint);
    share[r.endpoint]++;
  }
  CHECK(share.size() == 4);
  for (auto [ep, n] : share) CHECK(n < 120);  // not everything on one server
  int64_t max_load = 0, min_load = 1 << 30;
  for (EndpointId e = 0; e < 4; ++e) {
    max_load = std::max(max_load, f.inflight.get(e));
    min_load = std::min(min_load, f.inflight.get(e));
  }
  CHECK(max_load - min_load <= 30);  // 200 requests, mean 50

  // Guard off (factor huge): the prefix keeps its home despite the load gap
  // the queue scorer alone cannot overcome (2 < 3).
  Fixture g;
  SchedulerConfig no_guard;
  no_guard.load_guard_factor = 1e9;
  Scheduler s2(no_guard, g.index, g.inflight);
  auto full = g.hashes(prompt(6, 0));
  PickResult first = s2.pick(snap, request(full), rng);
  s2.on_routed(first.endpoint, full);
  for (int i = 0; i < 50; ++i) {
    g.inflight.add(first.endpoint);
    CHECK(s2.pick(snap, request(full), rng).endpoint == first.endpoint);
  }
}

TEST_CASE("scheduler: an overloaded rendezvous home does not get the placement bonus") {
  Fixture f;
  EndpointSnapshot snap(make_pool(4));
  Scheduler s(SchedulerConfig{}, f.index, f.inflight);
  Rng rng(5);
  auto h = f.hashes(prompt(9, 0));
  PickResult home = s.pick(snap, request(h), rng);
  REQUIRE(home.reason == PickReason::PrefixPlacement);
  for (int i = 0; i < 30; ++i) f.inflight.add(home.endpoint);
  PickResult r = s.pick(snap, request(h), rng);
  CHECK(r.endpoint != home.endpoint);
  CHECK(r.reason == PickReason::Score);
}

TEST_CASE("scheduler: one of several replicas places an unseen prompt at home despite a small load gap") {
  // Home busier than the idlest by 3 requests: past placement_max_gap (1), under the
  // load guard (8). Alone, load decides; one of three replicas, home wins (the others
  // may have placed the prompt there already), until the guard calls home overloaded.
  // Three replicas whose indexes hold each other's placements decide as one gateway.
  struct Mode {
    uint64_t replicas;
    bool index_shared;
  };
  for (Mode mode : {Mode{1, false}, Mode{3, false}, Mode{3, true}}) {
    const uint64_t replicas = mode.index_shared ? 1 : mode.replicas;  // deciding as
    CAPTURE(mode.replicas);
    CAPTURE(mode.index_shared);
    Fixture f;
    EndpointSnapshot snap(make_pool(4));
    snap.set_gateway_replicas(mode.replicas, mode.index_shared);
    Scheduler s(SchedulerConfig{}, f.index, f.inflight);
    Rng rng(7);
    auto h = f.hashes(prompt(12, 0));
    const PickResult idle = s.pick(snap, request(h), rng);
    REQUIRE(idle.reason == PickReason::PrefixPlacement);
    const EndpointId home = idle.endpoint;
    for (EndpointId e = 0; e < 4; ++e) f.inflight.add(e);  // every server 1 in flight,
    for (int i = 0; i < 3; ++i) f.inflight.add(home);      // home 4
    const PickResult r = s.pick(snap, request(h), rng);
    if (replicas > 1) {
      CHECK(r.endpoint == home);
      CHECK(r.reason == PickReason::PrefixPlacement);
    } else {
      CHECK(r.endpoint != home);
      CHECK(r.reason == PickReason::Score);
    }
    for (int i = 0; i < 10; ++i) f.inflight.add(home);  // 14 against 1: past the guard's 8
    CHECK(s.pick(snap, request(h), rng).endpoint != home);
  }
}

TEST_CASE("scheduler: replicas place a conversation by its root: every turn goes where its first did") {
  // Two replicas, each with its own index, take a conversation's turns in turn; 16
  // conversations share one system prompt. Each replica knows only the turns it routed,
  // so its index would send a turn after the system prompt (every conversation on one
  // server) or its own load (each replica elsewhere); keyed by the root (system prompt
  // and first user message) both send every turn to the conversation's own home.
  Fixture a, b;
  EndpointSnapshot snap(make_pool(8));
  snap.set_gateway_replicas(2);
  Scheduler sa(SchedulerConfig{}, a.index, a.inflight), sb(SchedulerConfig{}, b.index, b.inflight);
  Rng rng(13);
  const std::string system = prompt(3, 0, 2000, 0);
  std::map<EndpointId, int> homes;
  for (int conversation = 0; conversation < 16; ++conversation) {
    CAPTURE(conversation);
    std::string text = system + " user " + std::to_string(conversation) + ": " + std::string(300, 'q');
    const size_t root = text.size() / 64;
    EndpointId home = kNoEndpoint;
    for (int turn = 0; turn < 6; ++turn) {
      if (turn > 0) text += " answer and question " + std::to_string(turn) + std::string(100, 'a');
      Fixture& f = turn % 2 ? b : a;
      Scheduler& s = turn % 2 ? sb : sa;
      auto h = f.hashes(text);
      PickRequest r = request(h);
      r.root_blocks = root;
      const PickResult p = s.pick(snap, r, rng);
      REQUIRE(p.ok());
      s.on_routed(p.endpoint, h);
      if (turn == 0) home = p.endpoint;
      CHECK(p.endpoint == home);
      CHECK(p.reason == PickReason::PrefixPlacement);
    }
    homes[home]++;
  }
  CHECK(homes.size() >= 4);  // conversations spread, not piled on the system prompt's server
}

TEST_CASE("scheduler: session affinity by rendezvous, unless overloaded; stale metrics not trusted") {
  Fixture f;
  EndpointSnapshot snap(make_pool(6));
  Scheduler s(SchedulerConfig{}, f.index, f.inflight);
  Rng rng(11);
  PickRequest r = request({});
  r.session_id = "user-42";
  PickResult a = s.pick(snap, r, rng);
  REQUIRE(a.reason == PickReason::Session);
  for (int i = 0; i < 20; ++i) CHECK(s.pick(snap, r, rng).endpoint == a.endpoint);
  for (int i = 0; i < 30; ++i) f.inflight.add(a.endpoint);
  PickResult b = s.pick(snap, r, rng);
  CHECK(b.endpoint != a.endpoint);
  CHECK(b.reason == PickReason::Score);

  // Stale: a server whose last scrape said "idle" is not preferred on that
  // basis once the metrics are old.
  std::vector<EndpointState> v;
  v.push_back(make_endpoint(0, "m", 50, 0.9));
  v.push_back(make_endpoint(1, "m", 0, 0.0));
  EndpointSnapshot two(std::move(v));
  PickRequest late = request({});
  late.now = fresh_now() + std::chrono::seconds(10);
  std::map<EndpointId, int> seen;
  Fixture g;
  Scheduler s2(SchedulerConfig{}, g.index, g.inflight);
  for (int i = 0; i < 200; ++i) seen[s2.pick(two, late, rng).endpoint]++;
  CHECK(seen[0] > 40);  // both tie (no fresh signal): random split
  CHECK(seen[1] > 40);
}

TEST_CASE("scheduler: the session's load guard at its boundary: 7 and 8 above the others stay, 9 moves") {
  // Three idle servers; the session's home takes n more in flight. The guard allows
  // max((ratio - 1) x mean, minLoad) = max(n / 3, 8) = 8 above the least loaded.
  struct Row {
    int extra;
    bool stays;
  };
  for (const Row row : {Row{7, true}, Row{8, true}, Row{9, false}}) {
    CAPTURE(row.extra);
    Fixture f;
    EndpointSnapshot snap(make_pool(3));
    const SchedulerConfig config;
    REQUIRE(config.load_guard_min_excess == 8);
    Scheduler s(config, f.index, f.inflight);
    Rng rng(3);
    PickRequest r = request({});
    r.session_id = "user-7";
    const PickResult home = s.pick(snap, r, rng);
    REQUIRE(home.reason == PickReason::Session);
    for (int i = 0; i < row.extra; ++i) f.inflight.add(home.endpoint);
    const PickResult next = s.pick(snap, r, rng);
    CHECK((next.reason == PickReason::Session) == row.stays);
    CHECK((next.endpoint == home.endpoint) == row.stays);
  }
}

TEST_CASE("scheduler: two workers sending requests that share a prefix pick the same endpoint >= 99%") {
  Fixture f(8);
  EndpointSnapshot snap(make_pool(8));
  constexpr int kFamilies = 16, kPerWorker = 2000;
  std::vector<std::vector<EndpointId>> picks(2, std::vector<EndpointId>(kFamilies * kPerWorker));
  std::vector<std::vector<int>> fams(2, std::vector<int>(kFamilies * kPerWorker));
  auto worker = [&](int w) {
    Scheduler s(SchedulerConfig{}, f.index, f.inflight);
    Rng rng(uint64_t(w) + 100);
    std::vector<uint64_t> h;
    for (int i = 0; i < kFamilies * kPerWorker; ++i) {
      int fam = (i * 7 + w * 3) % kFamilies;
      std::string p = prompt(fam, i % 50);
      std::string_view part(p);
      f.hasher.hash("m", std::span<const std::string_view>(&part, 1), h);
      PickResult r = s.pick(snap, request(h), rng);
      picks[size_t(w)][size_t(i)] = r.endpoint;
      fams[size_t(w)][size_t(i)] = fam;
      f.inflight.add(r.endpoint);
      s.on_routed(r.endpoint, h);
      f.inflight.sub(r.endpoint);
    }
  };
  std::thread t0(worker, 0), t1(worker, 1);
  t0.join();
  t1.join();
  // The endpoint each family went to most often; count agreement with it.
  size_t agree = 0, total = 0;
  for (int fam = 0; fam < kFamilies; ++fam) {
    std::map<EndpointId, size_t> votes;
    for (int w = 0; w < 2; ++w)
      for (size_t i = 0; i < picks[size_t(w)].size(); ++i)
        if (fams[size_t(w)][i] == fam) votes[picks[size_t(w)][i]]++;
    size_t best = 0, sum = 0;
    for (auto [ep, n] : votes) {
      best = std::max(best, n);
      sum += n;
    }
    agree += best;
    total += sum;
  }
  double ratio = double(agree) / double(total);
  MESSAGE("same-endpoint ratio: " << ratio);
  CHECK(ratio >= 0.99);
}

TEST_CASE("scheduler: NaN / Inf / negative gauges do not break scoring") {
  Fixture f;
  std::vector<EndpointState> v = make_pool(3);
  v[0].metrics.all.waiting = std::numeric_limits<double>::infinity();
  v[1].metrics.all.kv_cache_usage = std::numeric_limits<double>::quiet_NaN();
  v[2].metrics.all.waiting = -5;
  EndpointSnapshot snap(std::move(v));
  Scheduler s(SchedulerConfig{}, f.index, f.inflight);
  Rng rng;
  PickResult r = s.pick(snap, request({}), rng);
  REQUIRE(r.ok());
  CHECK(r.endpoint != 0);  // the infinite queue never wins
  for (const EndpointSignals& c : s.last_candidates()) {
    CHECK(c.total == c.total);
    CHECK(c.total >= 0);
    CHECK(c.total <= 7);
  }
}

TEST_CASE("rendezvous: stable winner, removing a non-winner keeps it") {
  EndpointSnapshot snap(make_pool(10));
  std::vector<uint32_t> all{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  ptrdiff_t w = rendezvous_pick(snap, all, 42);
  REQUIRE(w >= 0);
  std::vector<uint32_t> fewer;
  for (uint32_t i : all)
    if (i != uint32_t((w + 1) % 10)) fewer.push_back(i);
  CHECK(rendezvous_pick(snap, fewer, 42) == w);
  CHECK(rendezvous_pick(snap, {}, 42) == -1);
}

TEST_CASE("scheduler: two 400 KB prompts sharing 300 KB are told apart (the prefix hash cap is past 256 KB)") {
  // A was sent to endpoint 0, B (same first 300 KB, another last 100 KB) to
  // endpoint 1. A again must go to 0: it holds 400 KB of it, endpoint 1 only
  // 300 KB. With the old cap of 4096 blocks (256 KB) both held "everything".
  Fixture f(2);
  std::string shared;
  while (shared.size() < 300 * 1024) shared += "a shared document paragraph " + std::to_string(shared.size()) + ". ";
  shared.resize(300 * 1024);
  auto tail = [](char c) { return std::string(100 * 1024, c); };
  auto a = f.hashes(shared + tail('a'));
  auto b = f.hashes(shared + tail('b'));
  f.index.on_routed(0, a);
  f.index.on_routed(1, b);
  EndpointSnapshot snap(make_pool(2));
  SchedulerConfig config;
  config.filters = {};  // both candidates scored, for last_candidates() below
  Scheduler s(config, f.index, f.inflight);
  Rng rng(7);
  for (int i = 0; i < 20; ++i) {
    PickResult r = s.pick(snap, request(a), rng);
    REQUIRE(r.ok());
    CHECK(r.endpoint == 0);
    CHECK(r.total_blocks == 400 * 1024 / 64);  // 6400 blocks, 169 hashes
    CHECK(r.matched_blocks == r.total_blocks);
  }
  auto c = s.last_candidates();
  REQUIRE(c.size() == 2);
  for (const EndpointSignals& e : c) {
    // Told apart to within one sampling stride (256 blocks = 16 KB at that depth) of the divergence at 300 KB.
    if (e.id == 1) CHECK(e.prefix_blocks <= 300 * 1024 / 64);
    if (e.id == 1) CHECK(e.prefix_blocks + sample_stride(300 * 1024 / 64) > 300 * 1024 / 64);
    if (e.id == 0) CHECK(e.prefix_blocks == 400 * 1024 / 64);
  }
}

TEST_CASE("scheduler: the prefix scorer stands down at its boundaries (roots x lead, capacity, a chat's root)") {
  // Endpoint 0 holds the prompt and has a fuller KV cache; endpoint 1 holds another system
  // prompt. Every request skips the affinity filter here (as its exploration draw does):
  // scoring the prefix, 0 wins (3 points against kv-cache's 0.6); standing down (a tenth,
  // 0.3), 1 does.
  Fixture f(2);
  auto a = f.hashes(prompt(1, 1, 2000, 100));
  std::vector<EndpointState> pool = make_pool(2);
  pool[0].metrics.all.kv_cache_usage = 0.3;
  EndpointSnapshot snap(std::move(pool));
  SchedulerConfig config;  // filter on, prefix 3, queue 2, kv-cache 2
  config.prefix_affinity.exploration_probability = 1;
  config.prefix_stand_down_share = 0.25;
  Scheduler s(config, f.index, f.inflight);
  Rng rng(11);
  f.index.on_routed(0, a);
  f.index.on_routed(1, f.hashes(prompt(2, 1, 2000, 100)));
  REQUIRE(f.index.root_entries() == 2);
  const size_t lead = a.size();  // endpoint 0's cached lead: the whole prompt (dense entries)
  REQUIRE(lead == 33);
  auto pick_with_capacity = [&](size_t zero, size_t one) {
    f.index.set_capacity(0, zero);
    f.index.set_capacity(1, one);
    return s.pick(snap, request(a), rng).endpoint;
  };
  const size_t fits = 4 * 2 * lead;                    // 2 roots x 33 = 66 <= 0.25 x 264
  CHECK(pick_with_capacity(fits, fits) == 1);          // stands down: the load decides
  CHECK(pick_with_capacity(fits - 1, fits - 1) == 0);  // 66 > 0.25 x 263: the prefix scores
  CHECK(pick_with_capacity(fits, fits - 1) == 0);      // the smallest candidate's capacity counts
  CHECK(pick_with_capacity(fits - 1, fits) == 0);
  CHECK(pick_with_capacity(fits, fits) == 1);
  f.index.on_routed(1, f.hashes(prompt(3, 1, 2000, 100)));  // a third root: 99 > 66
  REQUIRE(f.index.root_entries() == 3);
  CHECK(pick_with_capacity(fits, fits) == 0);
  CHECK(pick_with_capacity(4 * 3 * lead, 4 * 3 * lead) == 1);  // 99 <= 0.25 x 396
  CHECK(pick_with_capacity(4 * 3 * lead - 1, 4 * 3 * lead - 1) == 0);

  // A chat's lead past its root (a conversation's history) keeps scoring; within it, the
  // scorer stands down.
  f.index.set_capacity(0, 100000);
  f.index.set_capacity(1, 100000);
  PickRequest chat = request(a);
  chat.root_blocks = lead;
  CHECK(s.pick(snap, chat, rng).endpoint == 1);
  chat.root_blocks = lead - 1;
  CHECK(s.pick(snap, chat, rng).endpoint == 0);

  // standDownShare 0 never stands down, nor does a profile without the affinity filter
  // (nothing would keep a prompt where its prefix is).
  SchedulerConfig never = config, no_filter = config;
  never.prefix_stand_down_share = 0;
  no_filter.filters = {};
  for (const SchedulerConfig& c : {never, no_filter}) {
    Scheduler t(c, f.index, f.inflight);
    CHECK(t.pick(snap, request(a), rng).endpoint == 0);
  }
  CHECK(s.pick(snap, request(a), rng).endpoint == 1);
  // Between equal loads the prefix still decides.
  EndpointSnapshot idle(make_pool(2));
  PickResult r = s.pick(idle, request(a), rng);
  CHECK(r.prefix_stood_down);
  CHECK(r.endpoint == 0);
}

TEST_CASE("scheduler: precise mode scores by the blocks an endpoint's KV events announced") {
  Fixture f;
  EndpointSnapshot snap(make_pool(4));
  ExactBlockIndex exact;
  Scheduler s(SchedulerConfig{}, f.index, f.inflight, &exact);
  Rng rng(1);
  auto h = f.hashes(prompt(7, 1));
  const std::vector<uint64_t> vllm{11, 12, 13, 14};  // the prompt's vLLM block hashes
  PickRequest r = request(h);
  r.precise_hashes = vllm;
  // The approximate index sends it to endpoint 0 ...
  f.index.on_routed(0, h);
  for (EndpointId id = 0; id < 4; ++id) exact.set_state(id, ExactState::Precise, "");
  // ... but the events say endpoint 2 holds the first three blocks and 0 holds none.
  ringgate::kvevents::KvEventBatch batch;
  batch.events.push_back(ringgate::kvevents::BlockStored{{11, 12, 13}, std::nullopt, {}, 16, std::nullopt, "GPU"});
  exact.apply(2, 0, batch);
  PickResult got = s.pick(snap, r, rng);
  CHECK(got.endpoint == 2);
  CHECK(got.prefix_hit_ratio() == doctest::Approx(0.75).epsilon(0.05));
  // Only the prompt's lead hashed (its match ends within it): the score is a share of the
  // whole prompt's blocks, as if all were hashed.
  r.precise_total_blocks = 12;
  got = s.pick(snap, r, rng);
  CHECK(got.endpoint == 2);
  CHECK(got.prefix_hit_ratio() == doctest::Approx(0.25).epsilon(0.05));
  r.precise_total_blocks = 0;
  // Endpoint 2 loses its events' trust: it is scored by the approximate index again,
  // where only endpoint 0 is known to hold the prompt.
  exact.set_state(2, ExactState::Fallback, "gap");
  exact.set_state(0, ExactState::Fallback, "gap");
  got = s.pick(snap, r, rng);
  CHECK(got.endpoint == 0);
  // Without precise hashes the exact index is not asked.
  exact.set_state(0, ExactState::Precise, "");
  r.precise_hashes = {};
  CHECK(s.pick(snap, r, rng).endpoint == 0);
}

TEST_CASE("scheduler: precise mode weighs each held block by its best tier (tierWeights)") {
  const std::vector<uint64_t> vllm{11, 12, 13, 14};
  auto tier = [](const char* medium) {
    ringgate::kvevents::KvEventBatch b;
    b.events.push_back(ringgate::kvevents::BlockStored{{11, 12, 13, 14}, std::nullopt, {}, 16, std::nullopt, medium});
    return b;
  };
  // The prefix_blocks each endpoint is scored by: 0 holds the prompt in HBM and host
  // memory, 1 in HBM, 2 in host memory only, 3 in a tier no weight names.
  auto scored = [&](TierWeights tiers) {
    Fixture f;
    EndpointSnapshot snap(make_pool(4));
    ExactBlockIndex exact(1024, 16, tiers);
    SchedulerConfig config;
    config.filters = {};  // every candidate scored
    Scheduler s(config, f.index, f.inflight, &exact);
    for (EndpointId id = 0; id < 4; ++id) exact.set_state(id, ExactState::Precise, "");
    exact.apply(0, 0, tier("GPU"));
    exact.apply(0, 1, tier("CPU"));
    exact.apply(1, 0, tier("GPU"));
    exact.apply(2, 0, tier("CPU"));
    exact.apply(3, 0, tier("DISK"));
    const std::vector<uint64_t> hashes = f.hashes(prompt(7, 1));  // the request's span points into it
    PickRequest r = request(hashes);
    r.precise_hashes = vllm;
    Rng rng(1);
    PickResult got = s.pick(snap, r, rng);
    REQUIRE(got.ok());
    std::array<uint32_t, 5> blocks{};  // [4]: the prompt's
    for (const EndpointSignals& e : s.last_candidates()) blocks[e.id] = e.prefix_blocks;
    blocks[4] = got.total_blocks;
    return blocks;
  };
  std::array<uint32_t, 5> b = scored(TierWeights{});
  CHECK(b[1] == b[4]);  // a GPU block counts whole
  CHECK(b[0] == b[1]);  // in both tiers: the better
  CHECK(b[2] == uint32_t(std::llround(0.8 * b[1])));
  CHECK(b[2] < b[1]);
  CHECK(b[3] == 0);  // unknown tier: 0, never taken for GPU
  TierWeights cpu_whole;
  REQUIRE(cpu_whole.set("cpu", 1).empty());
  b = scored(cpu_whole);
  CHECK(b[2] == b[1]);
  TierWeights cpu_none;
  REQUIRE(cpu_none.set("cpu", 0).empty());
  b = scored(cpu_none);
  CHECK(b[2] == 0);
  CHECK(b[0] == b[1]);  // its GPU copy still counts
  TierWeights gpu_none;
  REQUIRE(gpu_none.set("gpu", 0).empty());
  b = scored(gpu_none);
  CHECK(b[1] == 0);
  CHECK(b[0] == b[2]);  // now host memory is the better tier
}

TEST_CASE("scheduler: equal scores are broken by the prompt's key: two replicas agree, prompts still spread") {
  // Two replicas: their own index, counters, scheduler and random stream; the same pool.
  Fixture a(4), b(4);
  SchedulerConfig config;
  config.prefix_placement = false;  // no placement bonus: an idle pool ties on every prompt
  EndpointSnapshot snap(make_pool(4));
  Scheduler sa(config, a.index, a.inflight), sb(config, b.index, b.inflight);
  Rng ra(1), rb(999);
  std::map<EndpointId, int> spread;
  int agree = 0;
  const int n = 400;
  for (int i = 0; i < n; ++i) {
    const std::vector<uint64_t> h = a.hashes(prompt(i % 4, i));  // 4 shared system prompts
    const PickResult pa = sa.pick(snap, request(h), ra);
    const PickResult pb = sb.pick(snap, request(h), rb);
    REQUIRE(pa.ok());
    agree += pa.endpoint == pb.endpoint ? 1 : 0;
    spread[pa.endpoint]++;
  }
  CHECK(agree == n);
  REQUIRE(spread.size() == 4);
  for (const auto& [endpoint, count] : spread) CHECK(count > n / 8);  // 100 each expected
}

TEST_CASE("scheduler: locality, the lowest priority level with an unsaturated endpoint, then the next") {
  Fixture f;
  // 0 and 1 local (priority 0), 2 and 3 at priority 1, 4 at priority 2; all idle.
  auto pool_with = [](double local_waiting, double near_waiting) {
    std::vector<EndpointState> v = make_pool(5);
    const uint32_t priorities[] = {0, 0, 1, 1, 2};
    for (size_t i = 0; i < v.size(); ++i) v[i].priority = priorities[i];
    v[0].metrics.all.waiting = v[1].metrics.all.waiting = local_waiting;
    v[2].metrics.all.waiting = v[3].metrics.all.waiting = near_waiting;
    return v;
  };
  Scheduler s(SchedulerConfig{}, f.index, f.inflight);
  Rng rng;
  auto picks = [&](const EndpointSnapshot& snap) {
    std::map<EndpointId, int> n;
    for (int i = 0; i < 200; ++i) {
      const PickResult r = s.pick(snap, request(f.hashes(prompt(i, i))), rng);
      REQUIRE(r.ok());
      CHECK(r.best_priority == 0);
      ++n[r.endpoint];
    }
    return n;
  };
  // Below the queue threshold (GAIE's 5 waiting): every pick local.
  EndpointSnapshot calm(pool_with(4, 0));
  auto n = picks(calm);
  CHECK(n[0] + n[1] == 200);
  // One local endpoint at the threshold: the other local one takes everything.
  std::vector<EndpointState> half = pool_with(0, 0);
  half[0].metrics.all.waiting = 5;
  EndpointSnapshot half_snap(std::move(half));
  n = picks(half_snap);
  CHECK(n[1] == 200);
  // Both local at the threshold: priority 1 takes the overflow, never priority 2.
  EndpointSnapshot local_full(pool_with(5, 0));
  n = picks(local_full);
  CHECK(n[2] + n[3] == 200);
  // Levels 0 and 1 saturated: priority 2.
  EndpointSnapshot both_full(pool_with(5, 5));
  n = picks(both_full);
  CHECK(n[4] == 200);
  // One level only: no filtering, best_priority is that level.
  std::vector<EndpointState> flat = make_pool(2);
  for (auto& e : flat) e.priority = 3;
  EndpointSnapshot flat_snap(std::move(flat));
  const PickResult r = s.pick(flat_snap, request({}), rng);
  REQUIRE(r.ok());
  CHECK(r.best_priority == 3);
}
