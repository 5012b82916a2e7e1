// The approximate prefix index's share of each server (control/prefix_capacity.h): sized
// from the KV the server reports, shrunk when the index promised hits the server did not
// deliver while requests queued there, grown back when it delivered them or nothing
// queued. Each threshold pinned at its boundary.
#include "ringgate/control/prefix_capacity.h"

#include <doctest/doctest.h>

using namespace ringgate;
using control::PrefixCapacity;

namespace {

sched::EndpointState server(uint64_t gpu, uint64_t cpu = 0, uint64_t block_size = 16) {
  sched::EndpointState e;
  e.id = 3;
  e.num_gpu_blocks = gpu;
  e.num_cpu_blocks = cpu;
  e.block_size = block_size;
  return e;
}

// The server's counters as a scrape leaves them (tokens, cumulative), and its queue.
void scraped(sched::EndpointState& e, double queries, double hits, double external = 0, double waiting = 1) {
  e.has_metrics = true;
  e.metrics.all.has_waiting = true;
  e.metrics.all.waiting = waiting;
  e.metrics.all.has_prefix_cache = true;
  e.metrics.all.prefix_cache_queries = queries;
  e.metrics.all.prefix_cache_hits = hits;
  e.metrics.all.external_prefix_cache_hits = external;
}

}  // namespace

TEST_CASE("a window's verdict, at each threshold") {
  using control::next_capacity_factor;
  const double over = 0.90 - control::kOverPromise, kept = 0.90 - control::kKeptPromise;
  // With a queue: promised minus delivered past kOverPromise shrinks, under kKeptPromise grows, between holds.
  CHECK(next_capacity_factor(1.0, 0.90, over + 1e-9, true) == doctest::Approx(1.0));
  CHECK(next_capacity_factor(1.0, 0.90, over - 1e-6, true) == doctest::Approx(control::kShrinkStep));
  CHECK(next_capacity_factor(1.0, 0.90, kept - 1e-9, true) == doctest::Approx(1.0));
  CHECK(next_capacity_factor(1.0, 0.90, kept + 1e-6, true) == doctest::Approx(control::kGrowStep));
  // Delivering more than promised (the index forgot what the server held) grows it too.
  CHECK(next_capacity_factor(1.0, 0.2, 0.9, true) == doctest::Approx(control::kGrowStep));
  // No queue: a broken promise cost nothing (the prompt misses anywhere): grows.
  CHECK(next_capacity_factor(1.0, 0.90, 0.0, false) == doctest::Approx(control::kGrowStep));
  CHECK(next_capacity_factor(1.0, 0.90, kept - 1e-9, false) == doctest::Approx(control::kGrowStep));
  // Clamped at both ends.
  CHECK(next_capacity_factor(control::kMaxCapacityFactor, 0.5, 0.5, true) == control::kMaxCapacityFactor);
  CHECK(next_capacity_factor(control::kMinCapacityFactor, 1.0, 0.0, true) == control::kMinCapacityFactor);
}

TEST_CASE("a hit counted as vLLM counts it") {
  using sched::counted_hit_tokens;
  CHECK(counted_hit_tokens(720, 720, 16) == 704);  // all held: the last token is computed again
  CHECK(counted_hit_tokens(100, 720, 16) == 96);   // whole blocks only
  CHECK(counted_hit_tokens(720, 720, 64) == 704);
  CHECK(counted_hit_tokens(720, 721, 16) == 720);
  CHECK(counted_hit_tokens(100, 720, 0) == 96);  // block size unknown: 16
  CHECK(counted_hit_tokens(5, 1, 16) == 0);
  CHECK(counted_hit_tokens(5, 0, 16) == 0);
}

TEST_CASE("sized from both KV tiers, in the index's 64-byte blocks") {
  PrefixCapacity capacity(64);
  sched::EndpointState e = server(0);
  CHECK(capacity.update(e, {}) == 0);  // nothing reported: the index's default stays
  e = server(1000);
  CHECK(capacity.update(e, {}) == 2000);  // 16-token blocks are the index's blocks; twice at first
  e = server(1000, 3000);
  CHECK(capacity.update(e, {}) == 8000);  // the CPU tier counts (llm-d-router #1650)
  e = server(1000, 0, 64);
  CHECK(capacity.update(e, {}) == 8000);  // a 64-token block is four of the index's
  PrefixCapacity wide(128);
  e = server(1000);
  CHECK(wide.update(e, {}) == 1000);  // scheduler.prefixBlockBytes 128: half as many
}

TEST_CASE("an index that promises more than the server delivers shrinks, then grows back") {
  PrefixCapacity capacity(64);
  sched::EndpointState e = server(1000);
  scraped(e, 10'000, 5'000);
  CHECK(capacity.update(e, {100, 10'000, 9'000}) == 2000);  // opens a window
  // One request short of a window: not judged, however wrong.
  scraped(e, 20'000, 5'000);
  CHECK(capacity.update(e, {100 + control::kWindowRequests - 1, 20'000, 18'000}) == 2000);
  CHECK(capacity.state(3)->windows == 0);
  // A full window: promised 0.9, delivered 0.0 -> shrinks.
  CHECK(capacity.update(e, {100 + control::kWindowRequests, 20'000, 18'000}) == 1600);
  CHECK(capacity.state(3)->promised == doctest::Approx(0.9));
  CHECK(capacity.state(3)->delivered == doctest::Approx(0.0));
  CHECK(capacity.state(3)->windows == 1);
  // The server's counters did not move since: the next window waits for a scrape.
  CHECK(capacity.update(e, {200, 30'000, 27'000}) == 1600);
  CHECK(capacity.state(3)->windows == 1);
  // Down to the floor and no further.
  double queries = 20'000;
  uint64_t requests = 200;
  for (int i = 0; i < 20; ++i) {
    queries += 10'000;
    requests += control::kWindowRequests;
    scraped(e, queries, 5'000);
    capacity.update(e, {requests, uint64_t(queries), uint64_t(queries * 0.9)});
  }
  CHECK(capacity.state(3)->factor == control::kMinCapacityFactor);
  CHECK(capacity.update(e, {requests, uint64_t(queries), uint64_t(queries * 0.9)}) == 250);
  // Promises kept, CPU-tier hits counted with the GPU's: grows back to the ceiling.
  double hits = 5'000, external = 0;
  for (int i = 0; i < 30; ++i) {
    queries += 10'000;
    hits += 6'000;
    external += 3'000;  // 0.9 delivered in all
    requests += control::kWindowRequests;
    scraped(e, queries, hits, external);
    capacity.update(e, {requests, uint64_t(queries), uint64_t(queries * 0.9)});
  }
  CHECK(capacity.state(3)->factor == control::kMaxCapacityFactor);
}

TEST_CASE("broken promises shrink it only where a scrape of the window saw requests waiting") {
  PrefixCapacity capacity(64);
  sched::EndpointState e = server(1000);
  scraped(e, 10'000, 0, 0, 0);
  capacity.update(e, {0, 0, 0});
  // No queue in any scrape: promised 0.9, delivered 0, and the share stays.
  scraped(e, 20'000, 0, 0, 0);
  CHECK(capacity.update(e, {control::kWindowRequests, 10'000, 9'000}) == 2000);
  CHECK(capacity.state(3)->windows == 1);
  CHECK_FALSE(capacity.state(3)->queued_then);
  // One scrape of the next window with a request waiting, the judging one without: shrinks.
  scraped(e, 25'000, 0, 0, 1);
  CHECK(capacity.update(e, {control::kWindowRequests + 1, 11'000, 9'900}) == 2000);
  scraped(e, 30'000, 0, 0, 0);
  CHECK(capacity.update(e, {2 * control::kWindowRequests, 20'000, 18'000}) == 1600);
  CHECK(capacity.state(3)->queued_then);
  // The queue is the window's: the next one, without, grows back.
  scraped(e, 40'000, 0, 0, 0);
  CHECK(capacity.update(e, {3 * control::kWindowRequests, 30'000, 27'000}) == 1760);
}

TEST_CASE("a restarted server's counters open a new window; a reset id starts afresh") {
  PrefixCapacity capacity(64);
  sched::EndpointState e = server(1000);
  scraped(e, 50'000, 40'000);
  capacity.update(e, {0, 0, 0});
  scraped(e, 1'000, 0);  // went back: restarted
  CHECK(capacity.update(e, {control::kWindowRequests, 10'000, 9'000}) == 2000);
  CHECK(capacity.state(3)->windows == 0);
  scraped(e, 11'000, 0);
  CHECK(capacity.update(e, {2 * control::kWindowRequests, 20'000, 18'000}) == 1600);
  capacity.reset(3);
  CHECK(capacity.update(e, {2 * control::kWindowRequests, 20'000, 18'000}) == 2000);
  CHECK(capacity.state(3)->windows == 0);
}
