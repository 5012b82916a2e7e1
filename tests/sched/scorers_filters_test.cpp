#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "ringgate/sched/filters.h"
#include "ringgate/sched/inflight_counters.h"
#include "ringgate/sched/load_guard.h"
#include "ringgate/sched/picker.h"
#include "sched_test_support.h"

using namespace ringgate::sched;
using namespace ringgate::sched::test;

namespace {
EndpointSignals sig(double load, bool fresh = true, double kv = 0) {
  EndpointSignals s;
  s.load = load;
  s.fresh = fresh;
  s.kv_usage = kv;
  return s;
}
}  // namespace

TEST_CASE("queue scorer, band off (llm-d's queue-scorer): (maxQ - q) / (maxQ - minQ), all 1 when equal") {
  SchedulerConfig plain;
  plain.local_noise_band = false;
  std::vector<EndpointSignals> c{sig(0), sig(5), sig(10)};
  run_scorer("queue", c, plain);
  CHECK(score_of(c[0], "queue") == 1.0);
  CHECK(score_of(c[1], "queue") == doctest::Approx(0.5));
  CHECK(score_of(c[2], "queue") == 0.0);
  std::vector<EndpointSignals> same{sig(3), sig(3)};
  run_scorer("queue", same, plain);
  CHECK(score_of(same[0], "queue") == 1.0);
  CHECK(score_of(same[1], "queue") == 1.0);
  run_scorer("queue", std::span<EndpointSignals>(), plain);  // empty: no crash
}

TEST_CASE("queue scorer, the default: while none queues, within sqrt(mean load) of the least is the least") {
  // Some candidate holds a block of the prompt (the band keeps a copy's holder; see below).
  auto held = [](std::vector<EndpointSignals> c) {
    c[0].prefix_blocks = 1;
    return c;
  };
  // Mean 16, band 4: 12 is on the band's edge and scores 1; 12.5 is past it by 0.5 of the
  // 31.5 - 8 - 4 = 19.5 the scale spans.
  std::vector<EndpointSignals> edge = held({sig(8), sig(12), sig(12), sig(32)});
  run_scorer("queue", edge);
  CHECK(score_of(edge[1], "queue") == 1.0);
  CHECK(score_of(edge[3], "queue") == 0.0);
  std::vector<EndpointSignals> past = held({sig(8), sig(12), sig(12.5), sig(31.5)});
  run_scorer("queue", past);
  CHECK(score_of(past[0], "queue") == 1.0);
  CHECK(score_of(past[1], "queue") == 1.0);
  CHECK(score_of(past[2], "queue") == doctest::Approx(1.0 - 0.5 / 19.5));
  CHECK(score_of(past[3], "queue") == 0.0);
  // At H's load (about 30 a server) a few requests of difference are all inside it.
  std::vector<EndpointSignals> busy = held({sig(30), sig(33), sig(35)});
  run_scorer("queue", busy);
  for (const EndpointSignals& s : busy) CHECK(score_of(s, "queue") == 1.0);
  // Once any server queues (scraped waiting), plain min-max: 30 against 33 is a point.
  std::vector<EndpointSignals> queued = held({sig(30), sig(33)});
  queued[1].waiting = 1;
  run_scorer("queue", queued);
  CHECK(score_of(queued[0], "queue") == 1.0);
  CHECK(score_of(queued[1], "queue") == 0.0);
  // So for a prompt no candidate holds any of: no copy to keep.
  std::vector<EndpointSignals> cold{sig(30), sig(33)};
  run_scorer("queue", cold);
  CHECK(score_of(cold[1], "queue") == 0.0);
  // A quiet pool: 0 against 1 (mean 0.5, band 0.71) is a whole point still.
  std::vector<EndpointSignals> quiet = held({sig(0), sig(1)});
  run_scorer("queue", quiet);
  CHECK(score_of(quiet[1], "queue") == 0.0);
  run_scorer("queue", std::span<EndpointSignals>());  // empty: no crash
}

TEST_CASE("kv-cache scorer: 1 - usage, neutral 0.5 when stale, clamped") {
  std::vector<EndpointSignals> c{sig(0, true, 0.25), sig(0, false, 0.1), sig(0, true, 1.7)};
  run_scorer("kv-cache", c);
  CHECK(score_of(c[0], "kv-cache") == doctest::Approx(0.75));
  CHECK(score_of(c[1], "kv-cache") == 0.5);
  CHECK(score_of(c[2], "kv-cache") == 0.0);
}

TEST_CASE("prefix scorer: matched / total, placement = 1, overloaded = 0") {
  std::vector<EndpointSignals> c(4);
  c[0].prefix_blocks = 5;
  c[1].prefix_blocks = 10;
  c[2].placement = true;
  c[3].prefix_blocks = 10;
  c[3].overloaded = true;
  run_scorer("prefix", c, {}, 10);
  CHECK(score_of(c[0], "prefix") == doctest::Approx(0.5));
  CHECK(score_of(c[1], "prefix") == 1.0);
  CHECK(score_of(c[2], "prefix") == 1.0);
  CHECK(score_of(c[3], "prefix") == 0.0);
  run_scorer("prefix", c, {}, 0);
  CHECK(score_of(c[1], "prefix") == 0.0);
}

TEST_CASE("lora-affinity scorer: llm-d's 1 loaded / 0.8 slot free / 0.6 waiting / 0 no room; base model 1; unknown 0.8") {
  // Servers with max_lora 2 (0-4) or unknown LoRA state (5, 6).
  std::vector<EndpointState> pool;
  auto server = [&](std::vector<std::string> running, std::vector<std::string> waiting, uint32_t max_lora = 2) {
    EndpointState e = make_endpoint(EndpointId(pool.size()), "base");
    e.lora_adapters = {"sql", "chat", "tweet"};
    e.loras.reported = true;
    e.loras.max_lora = max_lora;
    e.loras.running = std::move(running);
    e.loras.waiting = std::move(waiting);
    pool.push_back(std::move(e));
  };
  server({"sql"}, {"chat"});        // 0: sql runs
  server({"chat"}, {});             // 1: one slot free
  server({"chat", "tweet"}, {"sql"});  // 2: full, sql waits
  server({"chat", "tweet"}, {});    // 3: full, sql is nowhere
  server({"chat"}, {"tweet"});      // 4: full (running + waiting = max_lora), sql is nowhere
  server({}, {}, 0);                // 5: max_lora not said
  server({}, {});                   // 6: not reported (below)
  pool[6].loras.reported = false;
  EndpointSnapshot snap(std::move(pool));
  std::vector<EndpointSignals> c(snap.size());
  for (size_t i = 0; i < c.size(); ++i) {
    c[i].index = uint32_t(i);
    c[i].fresh = true;
  }
  PickRequest sql;
  sql.model = "sql";
  run_scorer("lora-affinity", c, {}, 0, &snap, sql);
  CHECK(score_of(c[0], "lora-affinity") == 1.0);
  CHECK(score_of(c[1], "lora-affinity") == 0.8);
  CHECK(score_of(c[2], "lora-affinity") == 0.6);
  CHECK(score_of(c[3], "lora-affinity") == 0.0);
  CHECK(score_of(c[4], "lora-affinity") == 0.0);
  CHECK(score_of(c[5], "lora-affinity") == 0.8);
  CHECK(score_of(c[6], "lora-affinity") == 0.8);
  // Running wins over a free slot (llm-d's order): chat runs on 1 with a slot free.
  PickRequest chat;
  chat.model = "chat";
  run_scorer("lora-affinity", c, {}, 0, &snap, chat);
  CHECK(score_of(c[1], "lora-affinity") == 1.0);
  CHECK(score_of(c[0], "lora-affinity") == 0.6);  // full (sql runs, chat waits): chat waits
  // Stale metrics: the state is not known.
  c[3].fresh = false;
  run_scorer("lora-affinity", c, {}, 0, &snap, sql);
  CHECK(score_of(c[3], "lora-affinity") == 0.8);
  // A base-model request is indifferent to adapters.
  PickRequest base;
  base.model = "base";
  run_scorer("lora-affinity", c, {}, 0, &snap, base);
  for (const EndpointSignals& s : c) CHECK(score_of(s, "lora-affinity") == 1.0);
}

// Issue 53: every combination of the adapter's state on a server (running, waiting, both,
// neither) and of its slots (free, full, over-full with queued adapters), then the states
// that make the server's LoRA state unknown, and a base-model request. llm-d's order:
// running, then a free slot, then waiting, then nothing.
TEST_CASE("lora-affinity scorer: a table of the adapter's state x the server's slots") {
  enum class Known : uint8_t { Yes, NotReported, NoMaxLora, Stale };
  struct Row {
    std::vector<std::string> running, waiting;  // max_lora 2; the request is for "sql"
    Known known;
    const char* model;
    double score;
  };
  const Row rows[] = {
      // sql nowhere
      {{}, {}, Known::Yes, "sql", 0.8},                       // every slot free
      {{"chat"}, {}, Known::Yes, "sql", 0.8},                 // one slot free
      {{"chat", "tweet"}, {}, Known::Yes, "sql", 0.0},        // full of running adapters
      {{"chat"}, {"tweet"}, Known::Yes, "sql", 0.0},          // full: running + waiting = max_lora
      {{"chat", "tweet"}, {"code"}, Known::Yes, "sql", 0.0},  // past full
      // sql waiting
      {{}, {"sql"}, Known::Yes, "sql", 0.8},                 // a slot is free: that comes first
      {{"chat"}, {"sql"}, Known::Yes, "sql", 0.6},           // full, sql queued for a slot
      {{"chat", "tweet"}, {"sql"}, Known::Yes, "sql", 0.6},  // past full, sql queued
      // sql running
      {{"sql"}, {}, Known::Yes, "sql", 1.0},                        // a slot free too
      {{"sql", "chat"}, {}, Known::Yes, "sql", 1.0},                // full
      {{"sql"}, {"sql"}, Known::Yes, "sql", 1.0},                   // running and waiting
      {{"sql", "chat"}, {"tweet", "sql"}, Known::Yes, "sql", 1.0},  // past full
      // the LoRA state is not known: as if a slot were free, whatever the lists say
      {{"chat", "tweet"}, {}, Known::NotReported, "sql", 0.8},
      {{"chat", "tweet"}, {}, Known::NoMaxLora, "sql", 0.8},
      {{"chat", "tweet"}, {}, Known::Stale, "sql", 0.8},
      {{"sql"}, {}, Known::Stale, "sql", 0.8},
      {{}, {}, Known::NotReported, "sql", 0.8},
      // a base-model request is indifferent to adapters, even on a full server
      {{"chat", "tweet"}, {"code"}, Known::Yes, "base", 1.0},
      {{}, {}, Known::NotReported, "base", 1.0},
  };
  for (size_t i = 0; i < std::size(rows); ++i) {
    const Row& row = rows[i];
    CAPTURE(i);
    EndpointState e = make_endpoint(0, "base");
    e.lora_adapters = {"sql", "chat", "tweet", "code"};
    e.loras.reported = row.known != Known::NotReported;
    e.loras.max_lora = row.known == Known::NoMaxLora ? 0 : 2;
    e.loras.running = row.running;  // sorted, as EndpointLoras::assign keeps them
    e.loras.waiting = row.waiting;
    std::sort(e.loras.running.begin(), e.loras.running.end());
    std::sort(e.loras.waiting.begin(), e.loras.waiting.end());
    std::vector<EndpointState> pool;
    pool.push_back(std::move(e));
    const EndpointSnapshot snap(std::move(pool));
    std::vector<EndpointSignals> c(1);
    c[0].index = 0;
    c[0].fresh = row.known != Known::Stale;
    PickRequest request;
    request.model = row.model;
    run_scorer("lora-affinity", c, {}, 0, &snap, request);
    CHECK(score_of(c[0], "lora-affinity") == row.score);
  }
}

TEST_CASE("load guard: only loads far above the least loaded (scaled by the mean, min excess) trip it") {
  SchedulerConfig cfg;  // the defaults the gateway runs with
  REQUIRE(cfg.load_guard_factor == 2.0);
  REQUIRE(cfg.load_guard_min_excess == 8);
  // At light load the min excess (8 requests) decides: a gap of 8 is allowed, 9 is not.
  std::vector<EndpointSignals> at_excess{sig(0), sig(0), sig(8)};  // mean 2.67: allowed max(2.67, 8) = 8
  apply_load_guard(at_excess, cfg);
  CHECK_FALSE(at_excess[2].overloaded);
  std::vector<EndpointSignals> past_excess{sig(0), sig(0), sig(9)};  // gap 9 > 8
  CHECK(apply_load_guard(past_excess, cfg) == doctest::Approx(3.0));
  CHECK(past_excess[2].overloaded);
  CHECK_FALSE(past_excess[0].overloaded);
  // Above it the gap allowed is (factor - 1) x mean = 1.0 x mean.
  std::vector<EndpointSignals> under_mean{sig(10), sig(10), sig(10), sig(23)};  // gap 13 < mean 13.25
  apply_load_guard(under_mean, cfg);
  CHECK_FALSE(under_mean[3].overloaded);
  std::vector<EndpointSignals> over_mean{sig(10), sig(10), sig(10), sig(24)};  // gap 14 > mean 13.5
  apply_load_guard(over_mean, cfg);
  CHECK(over_mean[3].overloaded);
  std::vector<EndpointSignals> busy{sig(100), sig(110), sig(120)};  // gap 20 < 1.0 x 110
  apply_load_guard(busy, cfg);
  CHECK_FALSE(busy[2].overloaded);
  // Most of the pool hot, one idle: the hot ones are far above the idle one.
  std::vector<EndpointSignals> mostly_hot{sig(60), sig(60), sig(60), sig(0)};  // gap 60 > mean 45
  apply_load_guard(mostly_hot, cfg);
  CHECK(mostly_hot[0].overloaded);
  CHECK_FALSE(mostly_hot[3].overloaded);
  // Another factor and excess are honoured (the config file sets them).
  SchedulerConfig tight;
  tight.load_guard_factor = 1.5;
  tight.load_guard_min_excess = 4;
  std::vector<EndpointSignals> tight_case{sig(0), sig(0), sig(5)};  // gap 5 > max(0.83, 4)
  apply_load_guard(tight_case, tight);
  CHECK(tight_case[2].overloaded);
}

TEST_CASE("picker: the maximum wins; ties are broken uniformly at random") {
  Rng rng(7);
  std::vector<EndpointSignals> c(3);
  c[0].total = 1;
  c[1].total = 3;
  c[2].total = 2;
  CHECK(pick_max_score(c, rng) == 1);
  std::vector<EndpointSignals> tie(3);
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < 3000; ++i) counts[pick_max_score(tie, rng)]++;
  for (int k = 0; k < 3; ++k) CHECK(counts[k] > 800);  // expected 1000 each
}

TEST_CASE("picker: among equal totals the highest tie rank wins, whatever the random stream") {
  std::vector<EndpointSignals> tie(3);
  tie[0].tie_rank = 5;
  tie[1].tie_rank = 9;
  tie[2].tie_rank = 7;
  for (uint64_t seed = 1; seed < 50; ++seed) {
    Rng rng(seed);
    CHECK(pick_max_score(tie, rng) == 1);
  }
  tie[2].total = 1;  // a higher total still beats any rank
  Rng rng(3);
  CHECK(pick_max_score(tie, rng) == 2);
}

TEST_CASE("filter: routable endpoints serving the model or adapter, minus excluded; in-flight and freshness read") {
  std::vector<EndpointState> v;
  v.push_back(make_endpoint(0, "m", 3, 0.5));
  v.push_back(make_endpoint(1, "m", 1, 0.1, false));  // not routable
  v.push_back(make_endpoint(2, "m", 2, 0.2));
  v.push_back(make_endpoint(3, "other"));
  v[2].lora_adapters = {"lora-a"};
  v[2].scraped_at -= std::chrono::seconds(10);  // stale
  EndpointSnapshot snap(std::move(v));
  InflightCounters inflight;
  for (EndpointId i = 0; i < 4; ++i) inflight.ensure(i);
  inflight.add(2);
  SchedulerConfig cfg;
  std::vector<EndpointSignals> out(snap.size());
  size_t n = 0;

  CHECK(filter_candidates(snap, "m", {}, inflight, fresh_now(), cfg, out, n) == CandidateStatus::Ok);
  REQUIRE(n == 2);
  CHECK(out[0].id == 0);
  CHECK(out[0].fresh);
  CHECK(out[0].load == 3);
  CHECK(out[1].id == 2);
  CHECK_FALSE(out[1].fresh);
  CHECK(out[1].waiting == 0);  // stale metrics not trusted
  CHECK(out[1].load == 1);     // in-flight only

  CHECK(filter_candidates(snap, "lora-a", {}, inflight, fresh_now(), cfg, out, n) == CandidateStatus::Ok);
  CHECK(n == 1);
  CHECK(filter_candidates(snap, "nope", {}, inflight, fresh_now(), cfg, out, n) == CandidateStatus::UnknownModel);
  std::vector<EndpointId> ex{0, 2};
  CHECK(filter_candidates(snap, "m", ex, inflight, fresh_now(), cfg, out, n) == CandidateStatus::AllExcluded);

  std::vector<EndpointState> down;
  down.push_back(make_endpoint(0, "m", 0, 0, false));
  EndpointSnapshot snap_down(std::move(down));
  CHECK(filter_candidates(snap_down, "m", {}, inflight, fresh_now(), cfg, out, n) == CandidateStatus::NoneRoutable);
}

TEST_CASE("saturation: stale, deep queue or full KV cache") {
  SchedulerConfig cfg;
  CHECK_FALSE(is_saturated(sig(0, true, 0.5), cfg));
  CHECK(is_saturated(sig(0, false, 0.0), cfg));
  CHECK(is_saturated(sig(0, true, 0.85), cfg));
  EndpointSignals q = sig(0);
  q.waiting = 5;
  CHECK(is_saturated(q, cfg));
}
