// llm-d's context-length-aware plugin: the llm-d.ai/context-length-range value, its scores
// (llm-d's calculateRangeScore, the same numbers) and its filter, at the range's edges:
// a prompt of exactly the upper bound is in range, one token more is not.
#include <doctest/doctest.h>

#include <vector>

#include "ringgate/sched/context_length_range.h"
#include "ringgate/sched/inflight_counters.h"
#include "ringgate/sched/prefix_index.h"
#include "ringgate/sched/scheduler.h"
#include "ringgate/sched/scorers.h"
#include "sched_test_support.h"

using namespace ringgate::sched;
using namespace ringgate::sched::test;

namespace {

ContextLengthRange range(uint32_t lo, uint32_t hi) { return {ContextRangeState::Valid, lo, hi}; }
constexpr ContextLengthRange kMalformed{ContextRangeState::Malformed, 0, 0};

// Endpoints 0..n-1 with these ranges.
EndpointSnapshot pool(const std::vector<ContextLengthRange>& ranges) {
  std::vector<EndpointState> v = make_pool(ranges.size());
  for (size_t i = 0; i < ranges.size(); ++i) v[i].context_range = ranges[i];
  return EndpointSnapshot(std::move(v));
}

std::vector<EndpointSignals> candidates_of(const EndpointSnapshot& snap) {
  std::vector<EndpointSignals> out(snap.size());
  for (size_t i = 0; i < snap.size(); ++i) {
    out[i].index = uint32_t(i);
    out[i].id = snap.at(i).id;
  }
  return out;
}

// The ids the context-length filter keeps for a prompt of `tokens`, in order.
std::vector<EndpointId> kept(const EndpointSnapshot& snap, uint32_t tokens) {
  std::vector<EndpointSignals> c = candidates_of(snap);
  PickRequest request;
  request.prompt_tokens = tokens;
  SchedulerConfig config;
  Rng rng;
  const FilterContext context{snap, request, config, 0, rng};
  const size_t n = kFilters[kContextLengthFilterSlot].filter(c, context);
  std::vector<EndpointId> ids;
  for (size_t i = 0; i < n; ++i) ids.push_back(c[i].id);
  return ids;
}

}  // namespace

TEST_CASE("the label's value: one \"min-max\" in tokens, both ends included, bounded") {
  CHECK(parse_context_length_range("0-2048") == range(0, 2048));
  CHECK(parse_context_length_range("2048-8192") == range(2048, 8192));
  CHECK(parse_context_length_range("7-7") == range(7, 7));
  CHECK(parse_context_length_range("0-1000000000") == range(0, kMaxContextLength));
  CHECK(parse_context_length_range("1000000000-1000000000") == range(kMaxContextLength, kMaxContextLength));
  CHECK_FALSE(parse_context_length_range("0-1000000001"));   // one past the bound
  CHECK_FALSE(parse_context_length_range("0-4294967296"));   // past 32 bits
  CHECK_FALSE(parse_context_length_range("0-99999999999"));  // 11 digits
  CHECK_FALSE(parse_context_length_range("8192-2048"));      // min > max
  CHECK_FALSE(parse_context_length_range("4096-"));          // llm-d wants both
  CHECK_FALSE(parse_context_length_range("-4096"));
  CHECK_FALSE(parse_context_length_range("0-2048,4096-8192"));  // one range a server
  CHECK_FALSE(parse_context_length_range("0-2048-4096"));
  CHECK_FALSE(parse_context_length_range("+1-2"));
  CHECK_FALSE(parse_context_length_range("0 -2048"));
  CHECK_FALSE(parse_context_length_range("2048"));
  CHECK_FALSE(parse_context_length_range(""));
  CHECK_FALSE(parse_context_length_range("a-b"));
  CHECK_FALSE(parse_context_length_range("0000000000000-1"));  // longer than any valid value
  CHECK(range(0, 2048).holds(2048));
  CHECK_FALSE(range(0, 2048).holds(2049));
  CHECK_FALSE(range(10, 20).holds(9));
  CHECK_FALSE(ContextLengthRange{}.holds(0));
  CHECK_FALSE(kMalformed.holds(0));
}

TEST_CASE("context-length scores: llm-d's numbers; in range above 0.3, out of range below it, nearer higher") {
  // In range: 0.3 + 0.7 x (0.7 / (1 + width / 10000) + 0.3 x room / width).
  CHECK(context_length_score(0, range(0, 2048)) == doctest::Approx(0.3 + 0.7 * (0.7 / 1.2048 + 0.3)));
  CHECK(context_length_score(2048, range(0, 2048)) == doctest::Approx(0.3 + 0.7 * (0.7 / 1.2048)));
  CHECK(context_length_score(100, range(100, 100)) == 1.0);
  // One token past the upper bound: out of range, 0.3 / (1 + 1 / 1000).
  CHECK(context_length_score(2049, range(0, 2048)) == doctest::Approx(0.3 / 1.001));
  CHECK(context_length_score(2047, range(2048, 8192)) == doctest::Approx(0.3 / 1.001));
  CHECK(context_length_score(2048, range(2048, 8192)) > 0.3);
  // A 9000-token prompt prefers the range ending at 8192 over the one ending at 2048.
  CHECK(context_length_score(9000, range(2048, 8192)) > context_length_score(9000, range(0, 2048)));
  // The narrowest holding range wins over a generalist one.
  CHECK(context_length_score(1000, range(0, 2048)) > context_length_score(1000, range(0, 131072)));
  CHECK(context_length_score(1000, ContextLengthRange{}) == 0.5);
  CHECK(context_length_score(1000, kMalformed) == 0);
  // Through the seam.
  const EndpointSnapshot snap = pool({range(0, 2048), range(2049, 8192), {}, kMalformed});
  std::vector<EndpointSignals> c = candidates_of(snap);
  PickRequest request;
  request.prompt_tokens = 2049;
  run_scorer("context-length", c, {}, 0, &snap, request);
  CHECK(score_of(c[0], "context-length") < 0.3);
  CHECK(score_of(c[1], "context-length") > 0.3);
  CHECK(score_of(c[2], "context-length") == 0.5);
  CHECK(score_of(c[3], "context-length") == 0);
}

TEST_CASE("context-length filter: the range's upper bound is in, one token more is out; no range stays") {
  const EndpointSnapshot snap = pool({range(0, 2048), range(2049, 8192), {}, kMalformed});
  CHECK(kept(snap, 0) == std::vector<EndpointId>{0, 2});
  CHECK(kept(snap, 2048) == std::vector<EndpointId>{0, 2});
  CHECK(kept(snap, 2049) == std::vector<EndpointId>{1, 2});
  CHECK(kept(snap, 8192) == std::vector<EndpointId>{1, 2});
  CHECK(kept(snap, 8193) == std::vector<EndpointId>{2});
  // No server holds it and none is without a range: all stay (the seam never empties the set).
  const EndpointSnapshot ranged = pool({range(0, 2048), range(2049, 8192), kMalformed});
  CHECK(kept(ranged, 8193) == std::vector<EndpointId>{0, 1, 2});
  CHECK(kept(ranged, 8192) == std::vector<EndpointId>{1});
}

TEST_CASE("scheduler: the context-length filter runs before session affinity; the prefill leg too") {
  PrefixIndex index{100000, 1024};
  InflightCounters inflight;
  for (EndpointId i = 0; i < 4; ++i) inflight.ensure(i);
  std::vector<EndpointState> v = make_pool(4);
  v[0].context_range = range(0, 2048);
  v[1].context_range = range(2049, 131072);
  v[2].context_range = range(0, 2048);
  v[2].role = EndpointRole::Prefill;
  v[3].context_range = range(2049, 131072);
  v[3].role = EndpointRole::Prefill;
  const EndpointSnapshot snap(std::move(v));
  SchedulerConfig config;
  config.filters[kContextLengthFilterSlot] = true;
  Scheduler s(config, index, inflight);
  Rng rng;
  PickRequest r;
  r.model = "m";
  r.now = fresh_now();
  // Sessions whose rendezvous home is the short server (0) or the long one (1).
  std::string short_home, long_home;
  for (int i = 0; i < 64 && (short_home.empty() || long_home.empty()); ++i) {
    std::string id = "session-" + std::to_string(i);
    r.session_id = id;
    SchedulerConfig unfiltered_config;
    Scheduler unfiltered(unfiltered_config, index, inflight);
    const PickResult p = unfiltered.pick(snap, r, rng);
    REQUIRE(p.reason == PickReason::Session);
    (p.endpoint == 0 ? short_home : long_home) = id;
  }
  REQUIRE_FALSE(short_home.empty());
  REQUIRE_FALSE(long_home.empty());
  // A session at home on the short server: its prompt of 2049 tokens goes to the long one.
  r.session_id = short_home;
  r.prompt_tokens = 2048;
  CHECK(s.pick(snap, r, rng).endpoint == 0);
  r.prompt_tokens = 2049;
  CHECK(s.pick(snap, r, rng).endpoint == 1);
  r.session_id = long_home;
  r.prompt_tokens = 2048;
  CHECK(s.pick(snap, r, rng).endpoint == 0);
  // The prefill leg: the prefill server whose range holds the prompt.
  r.session_id = {};
  r.leg = PickLeg::Prefill;
  r.prompt_tokens = 2048;
  CHECK(s.pick(snap, r, rng).endpoint == 2);
  r.prompt_tokens = 2049;
  CHECK(s.pick(snap, r, rng).endpoint == 3);
}
