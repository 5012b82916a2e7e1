#include "ringgate/sim/latency_model.h"

#include <doctest/doctest.h>

using ringgate::sim::LatencyModel;

TEST_CASE("prefill is overhead plus per-token time for uncached tokens") {
  LatencyModel m{5.0, 100.0, 10.0};
  CHECK(m.prefill_ns(0) == 5'000'000);
  CHECK(m.prefill_ns(1000) == 5'000'000 + 100'000'000);
}

TEST_CASE("token k is due (k+1) inter-token latencies after prefill") {
  LatencyModel m{0, 0, 10.0};
  CHECK(m.token_due_ns(7'000'000, 0) == 17'000'000);
  CHECK(m.token_due_ns(7'000'000, 4) == 57'000'000);
}

TEST_CASE("all-zero latencies make everything due at once") {
  LatencyModel m{};
  CHECK(m.prefill_ns(123456) == 0);
  CHECK(m.token_due_ns(0, 99) == 0);
}
