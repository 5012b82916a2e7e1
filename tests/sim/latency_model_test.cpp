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

TEST_CASE("speed divides prefill and decode times, not the KV pull's") {
  LatencyModel fast{5.0, 100.0, 10.0, 50.0};
  LatencyModel slow = fast;
  slow.speed = 0.4;  // 2.5x slower
  CHECK(slow.prefill_ns(1000) == 2 * fast.prefill_ns(1000) + fast.prefill_ns(1000) / 2);
  CHECK(slow.overhead_ns() == 12'500'000);
  CHECK(slow.prefill_tokens_ns(10) == 2'500'000);
  CHECK(slow.inter_token_ns(4) == 100'000'000);
  CHECK(slow.token_due_ns(0, 0) == 25'000'000);
  CHECK(slow.kv_transfer_ns(2) == fast.kv_transfer_ns(2));
  LatencyModel quick = fast;
  quick.speed = 2;
  CHECK(quick.inter_token_ns(1) == 5'000'000);
}

TEST_CASE("a slow speed on a huge prompt saturates instead of overflowing") {
  LatencyModel m{0, 3.6e9, 3.6e6};
  m.speed = 0.01;
  CHECK(m.prefill_ns(4'000'000'000u) == 9'000'000'000'000'000'000ull);
  CHECK(m.inter_token_ns(4'000'000'000u) == 9'000'000'000'000'000'000ull);
}
