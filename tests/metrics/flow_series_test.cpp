// The flow-control series of a worker: one per (priority, fairness_id), the fairness id
// (a client's header) bounded: past kMaxFlowFairnessSeries named series a new id is
// counted under its band's "other" series, and counted as overflow.
#include <doctest/doctest.h>

#include <memory>

#include <string>

#include "ringgate/metrics/gateway_stats.h"

using namespace ringgate::metrics;

TEST_CASE("flow series: one per (priority, fairness id); new ids past the cap share their band's \"other\"") {
  auto stats = std::make_unique<WorkerStats>();
  std::string scratch;
  FlowBandStats& a0 = flow_series(*stats, 0, "a", scratch);
  CHECK(&flow_series(*stats, 0, "a", scratch) == &a0);
  CHECK(&flow_series(*stats, 5, "a", scratch) != &a0);  // another band, another series
  for (size_t i = 2; i < kMaxFlowFairnessSeries; ++i) flow_series(*stats, 0, "t" + std::to_string(i), scratch);
  CHECK(stats->flow_named_series == kMaxFlowFairnessSeries);
  CHECK(stats->flow_fairness_overflow.get() == 0);
  FlowBandStats& late = flow_series(*stats, 0, "late", scratch);
  FlowBandStats& later = flow_series(*stats, 0, "later", scratch);
  CHECK(&late == &later);
  CHECK(&late == stats->flow_bands.find(flow_series_key(0, "other", scratch)));
  CHECK(&flow_series(*stats, -1, "late", scratch) != &late);  // "other" is per band
  CHECK(stats->flow_fairness_overflow.get() == 3);
  CHECK(&flow_series(*stats, 0, "a", scratch) == &a0);  // known ids keep their series
  CHECK(stats->flow_fairness_overflow.get() == 3);
  // Keys split back into (priority, fairness id), whatever bytes the id holds.
  std::array<std::string_view, 2> parts;
  REQUIRE(split_key(flow_series_key(-12, std::string("x\0y", 3), scratch), parts));
  CHECK(parts[0] == "-12");
  CHECK(parts[1] == std::string_view("x\0y", 3));
}
