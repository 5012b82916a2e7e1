// The shared load signal (SchedulerConfig::load_signal = Shared, precise mode's default):
// load from the scraped picture only, in coarse steps on an absolute scale, so two
// gateway replicas that read the same scrape pick the same endpoint whatever each has
// in flight itself.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ringgate/sched/filters.h"
#include "ringgate/sched/inflight_counters.h"
#include "ringgate/sched/prefix_hasher.h"
#include "ringgate/sched/prefix_index.h"
#include "ringgate/sched/scheduler.h"
#include "sched_test_support.h"

using namespace ringgate::sched;
using namespace ringgate::sched::test;

namespace {

// One server as a scrape shows it.
EndpointState scraped(EndpointId id, double waiting, double running, double kv) {
  EndpointState e = make_endpoint(id, "m", waiting, kv);
  e.metrics.all.running = running;
  e.metrics.all.has_running = true;
  return e;
}

SchedulerConfig shared_config() {
  SchedulerConfig c;
  c.load_signal = LoadSignal::Shared;
  return c;
}

std::string prompt(int family, int variant) {
  std::string s = "system prompt family " + std::to_string(family) + ": ";
  while (s.size() < 1000) s += "You are a helpful assistant. ";
  s += " question " + std::to_string(variant) + ": ";
  while (s.size() < 1400) s += char('a' + variant % 26);
  return s;
}

std::vector<uint64_t> hashes(const PrefixHasher& hasher, const std::string& text) {
  std::vector<uint64_t> out;
  std::string_view part(text);
  hasher.hash("m", std::span<const std::string_view>(&part, 1), out);
  return out;
}

PickRequest request(std::span<const uint64_t> h) {
  PickRequest r;
  r.model = "m";
  r.prefix_hashes = h;
  r.now = fresh_now();
  return r;
}

// Two replicas: the same scrape and the same prefix picture, different in-flight
// counts (each counts only what it sent). How many of `prompts` they send apart.
int disagreements(LoadSignal signal) {
  std::vector<EndpointState> pool{scraped(0, 0, 1, 0.30), scraped(1, 0, 2, 0.20), scraped(2, 1, 1, 0.40),
                                  scraped(3, 0, 0, 0.10)};
  EndpointSnapshot snap(std::move(pool));
  PrefixIndex index{100000, 1024};
  PrefixHasher hasher{64};
  InflightCounters mine, theirs;
  for (EndpointId i = 0; i < 4; ++i) {
    mine.ensure(i);
    theirs.ensure(i);
  }
  // This replica's own requests: 9 at endpoint 3 (two load steps, were they counted), one
  // at 0; the other's: 5 at endpoint 1.
  for (int i = 0; i < 9; ++i) mine.add(3);
  mine.add(0);
  for (int i = 0; i < 5; ++i) theirs.add(1);
  SchedulerConfig config;
  config.load_signal = signal;
  Scheduler a(config, index, mine), b(config, index, theirs);
  // Some families already held somewhere (the prefix picture both share).
  for (int family = 0; family < 8; family += 2) {
    const std::vector<uint64_t> h = hashes(hasher, prompt(family, 1000));
    index.on_routed(EndpointId(family % 4), h);
  }
  Rng rng_a(1), rng_b(2);
  int apart = 0;
  for (int family = 0; family < 8; ++family)
    for (int variant = 0; variant < 10; ++variant) {
      const std::vector<uint64_t> h = hashes(hasher, prompt(family, variant));
      const PickResult ra = a.pick(snap, request(h), rng_a), rb = b.pick(snap, request(h), rng_b);
      REQUIRE(ra.ok());
      REQUIRE(rb.ok());
      if (ra.endpoint != rb.endpoint) ++apart;
    }
  return apart;
}

}  // namespace

TEST_CASE("shared load: replicas with the same scrape but different in-flight counts pick the same endpoint") {
  CHECK(disagreements(LoadSignal::Shared) == 0);
  // The local signal (scraped waiting + own in-flight, min-max) splits them: what the
  // shared one is for.
  CHECK(disagreements(LoadSignal::Local) > 0);
}

TEST_CASE("shared load: scraped waiting + running in coarse steps, KV usage stepped, in-flight ignored") {
  std::vector<EndpointState> pool{scraped(0, 1, 2, 0.30), scraped(1, 3, 2, 0.74), scraped(2, 0, 9, 0.25),
                                  scraped(3, 0, 0, 0.0)};
  pool[3].scraped_at -= std::chrono::seconds(10);  // stale: no shared picture
  EndpointSnapshot snap(std::move(pool));
  InflightCounters inflight;
  for (EndpointId i = 0; i < 4; ++i) inflight.ensure(i);
  for (int i = 0; i < 5; ++i) inflight.add(0);
  for (int i = 0; i < 6; ++i) inflight.add(3);
  SchedulerConfig cfg = shared_config();
  std::vector<EndpointSignals> out(snap.size());
  size_t n = 0;
  REQUIRE(filter_candidates(snap, "m", {}, inflight, fresh_now(), cfg, out, n) == CandidateStatus::Ok);
  REQUIRE(n == 4);
  CHECK(out[0].inflight == 5);
  CHECK(out[0].load == 0);   // 1 + 2 = 3: below the first step of 4; in-flight not counted
  CHECK(out[1].load == 4);   // 3 + 2 = 5
  CHECK(out[2].load == 8);   // 9
  CHECK(out[3].load == 4);   // stale: its in-flight count (6), stepped
  CHECK(out[1].kv_usage == doctest::Approx(0.74));  // raw: the saturation detector reads it
  run_scorer("kv-cache", std::span<EndpointSignals>(out.data(), n), cfg);
  CHECK(score_of(out[0], "kv-cache") == doctest::Approx(0.75));  // 0.30 -> 0.25
  CHECK(score_of(out[1], "kv-cache") == doctest::Approx(0.5));   // 0.74 -> 0.5
  CHECK(score_of(out[2], "kv-cache") == doctest::Approx(0.75));  // 0.25
  CHECK(score_of(out[3], "kv-cache") == 0.5);                    // stale: unknown

  // A finer step keeps more of the raw value.
  cfg.shared_load.step = 1;
  cfg.shared_load.kv_step = 0.1;
  REQUIRE(filter_candidates(snap, "m", {}, inflight, fresh_now(), cfg, out, n) == CandidateStatus::Ok);
  CHECK(out[0].load == 3);
  CHECK(out[1].load == 5);
  run_scorer("kv-cache", std::span<EndpointSignals>(out.data(), n), cfg);
  CHECK(score_of(out[1], "kv-cache") == doctest::Approx(0.3));

  // The queue score is absolute: 1 at no load, 0 at kSharedQueueSteps steps and past.
  std::vector<EndpointSignals> c(3);
  c[0].load = 0;
  c[1].load = 4;
  c[2].load = 40;
  run_scorer("queue", c, shared_config());  // step 4
  CHECK(score_of(c[0], "queue") == 1.0);
  CHECK(score_of(c[1], "queue") == doctest::Approx(1.0 - 1.0 / kSharedQueueSteps));
  CHECK(score_of(c[2], "queue") == 0.0);
}

TEST_CASE("shared load: a one-step load difference does not outweigh half the prompt cached") {
  // Endpoint 0 holds the first half of the prompt, 2 waiting and 3 running; endpoint 1 is
  // idle. KV usage 0.1 and 0.2: the same step.
  std::vector<EndpointState> pool{scraped(0, 2, 3, 0.1), scraped(1, 0, 0, 0.2)};
  EndpointSnapshot snap(std::move(pool));
  PrefixIndex index{100000, 1024};
  PrefixHasher hasher{64};
  InflightCounters inflight;
  inflight.ensure(0);
  inflight.ensure(1);
  const std::string whole = prompt(1, 1);
  const std::vector<uint64_t> h = hashes(hasher, whole);
  const std::vector<uint64_t> half = hashes(hasher, whole.substr(0, whole.size() / 2));
  index.on_routed(0, half);
  Rng rng(7);

  Scheduler shared(shared_config(), index, inflight);
  PickResult r = shared.pick(snap, request(h), rng);
  REQUIRE(r.ok());
  CHECK(r.endpoint == 0);
  CHECK(r.matched_blocks > 0);
  for (const EndpointSignals& c : shared.last_candidates()) CHECK(score_of(c, "kv-cache") == 1.0);  // both 0 in steps of 0.25

  // The local signal's min-max turns the same gap into a full point: the idle one wins.
  Scheduler local(SchedulerConfig{}, index, inflight);
  r = local.pick(snap, request(h), rng);
  REQUIRE(r.ok());
  CHECK(r.endpoint == 1);

  // A real backlog (past the load guard's gap) still moves it.
  std::vector<EndpointState> busy{scraped(0, 16, 8, 0.0), scraped(1, 0, 0, 0.0)};
  EndpointSnapshot busy_snap(std::move(busy));
  r = shared.pick(busy_snap, request(h), rng);
  REQUIRE(r.ok());
  CHECK(r.endpoint == 1);
}
