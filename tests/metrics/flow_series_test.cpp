// The flow-control series of a worker: one per (priority, fairness_id label). The label
// is bounded before it gets here (metrics::bounded_label, label_bounds_test.cpp).
#include <doctest/doctest.h>

#include <memory>

#include <string>

#include "ringgate/metrics/gateway_stats.h"

using namespace ringgate::metrics;

TEST_CASE("flow series: one per (priority, fairness label)") {
  auto stats = std::make_unique<WorkerStats>();
  std::string scratch;
  FlowBandStats& a0 = flow_series(*stats, 0, "a", scratch);
  CHECK(&flow_series(*stats, 0, "a", scratch) == &a0);
  CHECK(&flow_series(*stats, 5, "a", scratch) != &a0);  // another band, another series
  CHECK(&flow_series(*stats, 0, "b", scratch) != &a0);
  // Keys split back into (priority, fairness id), whatever bytes the id holds.
  std::array<std::string_view, 2> parts;
  REQUIRE(split_key(flow_series_key(-12, std::string("x\0y", 3), scratch), parts));
  CHECK(parts[0] == "-12");
  CHECK(parts[1] == std::string_view("x\0y", 3));
}
