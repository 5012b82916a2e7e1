// The flow-control series of a worker: one per (priority, fairness_id, model_name,
// target_model_name labels). The labels are bounded before they get here (metrics::bounded_label,
// label_bounds_test.cpp).
#include <doctest/doctest.h>

#include <memory>

#include <string>

#include "ringgate/metrics/gateway_stats.h"

using namespace ringgate::metrics;

TEST_CASE("flow series: one per (priority, fairness label, model, target model)") {
  auto stats = std::make_unique<WorkerStats>();
  std::string scratch;
  FlowBandStats& a0 = flow_series(*stats, 0, "a", "m", "t", scratch);
  CHECK(&flow_series(*stats, 0, "a", "m", "t", scratch) == &a0);
  CHECK(&flow_series(*stats, 5, "a", "m", "t", scratch) != &a0);  // another band, another series
  CHECK(&flow_series(*stats, 0, "b", "m", "t", scratch) != &a0);
  CHECK(&flow_series(*stats, 0, "a", "n", "t", scratch) != &a0);  // another model
  CHECK(&flow_series(*stats, 0, "a", "m", "u", scratch) != &a0);  // another target
  // Keys split back into (priority, fairness id, model, target), whatever bytes the id holds.
  std::array<std::string_view, 4> parts;
  REQUIRE(split_key(flow_series_key(-12, std::string("x\0y", 3), "m", "t", scratch), parts));
  CHECK(parts[0] == "-12");
  CHECK(parts[1] == std::string_view("x\0y", 3));
  CHECK(parts[2] == "m");
  CHECK(parts[3] == "t");
}
