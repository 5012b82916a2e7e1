// Metric label values that clients and model servers choose, bounded for the process
// (metrics.maxLabelValues): first come, only when the request may add one, "other" past
// the bound and counted; shared by every worker thread.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ringgate/metrics/gateway_stats.h"
#include "ringgate/metrics/label_bounds.h"

using namespace ringgate::metrics;

TEST_CASE("label values: the limit-th value is admitted, the next one is not") {
  LabelValueSet set(3);
  CHECK(set.admit("a", true));
  CHECK(set.admit("b", true));
  CHECK(set.admit("c", true));
  CHECK(set.size() == 3);
  CHECK_FALSE(set.admit("d", true));
  CHECK(set.size() == 3);
  CHECK(set.admit("b", true));   // held values stay theirs
  CHECK(set.admit("a", false));  // ... whoever asks
}

TEST_CASE("label values: a request that may not add one reads a new value as not held") {
  LabelValueSet set(64);
  CHECK_FALSE(set.admit("fresh", false));
  CHECK(set.size() == 0);
  CHECK(set.admit("fresh", true));
  CHECK(set.admit("fresh", false));
}

TEST_CASE("label values: the limit is capped at kMaxLimit, and values of any bytes are told apart") {
  LabelValueSet set(1u << 20);
  CHECK(set.limit() == LabelValueSet::kMaxLimit);
  for (size_t i = 0; i < LabelValueSet::kMaxLimit; ++i) REQUIRE(set.admit("v" + std::to_string(i), true));
  CHECK_FALSE(set.admit("one-more", true));
  for (size_t i = 0; i < LabelValueSet::kMaxLimit; ++i) REQUIRE(set.admit("v" + std::to_string(i), false));
  LabelValueSet bytes(4);
  CHECK(bytes.admit(std::string("x\0y", 3), true));
  CHECK_FALSE(bytes.admit(std::string("x\0z", 3), false));
  CHECK(bytes.admit(std::string("x\0y", 3), false));
}

TEST_CASE("label values: workers racing to add admit exactly the limit") {
  LabelValueSet set(64);
  std::vector<std::thread> threads;
  std::vector<size_t> admitted(4, 0);
  for (size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = 0; i < 1000; ++i) admitted[t] += set.admit("id" + std::to_string(i), true) ? 1 : 0;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(set.size() == 64);
  size_t held = 0;
  for (size_t i = 0; i < 1000; ++i) held += set.admit("id" + std::to_string(i), false) ? 1 : 0;
  CHECK(held == 64);
}

TEST_CASE("bounded_label: itself, or \"other\" counted in the worker's overflow by family") {
  auto stats = std::make_unique<WorkerStats>();
  LabelBounds bounds(1);
  CHECK(bounded_label(&bounds, *stats, LabelFamily::FairnessId, "t1", true) == "t1");
  CHECK(bounded_label(&bounds, *stats, LabelFamily::FairnessId, "t2", true) == "other");
  CHECK(bounded_label(&bounds, *stats, LabelFamily::FairnessId, "t3", false) == "other");
  CHECK(stats->label_overflow[size_t(LabelFamily::FairnessId)].get() == 2);
  CHECK(stats->label_overflow[size_t(LabelFamily::Tenant)].get() == 0);
  // Families are apart: tenant t2 has room of its own.
  CHECK(bounded_label(&bounds, *stats, LabelFamily::Tenant, "t2", true) == "t2");
  // The values every request may carry pass, uncounted; no bounds: no bound.
  CHECK(bounded_label(&bounds, *stats, LabelFamily::FairnessId, kDefaultFairnessId, false) == kDefaultFairnessId);
  CHECK(bounded_label(nullptr, *stats, LabelFamily::FairnessId, "t9", false) == "t9");
  CHECK(stats->label_overflow[size_t(LabelFamily::FairnessId)].get() == 2);
}
