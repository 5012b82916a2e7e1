// Per-tenant budgets: tokens and requests per minute, the window, the usage
// correction, the bounded tenant table and the x-ratelimit-* headers.
#include <doctest/doctest.h>

#include <string>

#include "ringgate/proxy/rate_limiter.h"

using namespace ringgate::proxy;

TEST_CASE("rate limiter: token budget spent -> refused until the window starts over") {
  RateLimiter limiter(16);
  RateLimitPolicy policy{1000, 0};
  RateDecision a = limiter.admit("t", 600, policy, 1000);
  CHECK(a.allowed);
  CHECK(a.remaining_tokens == 400);
  CHECK(a.reset_ms == 60000);
  RateDecision b = limiter.admit("t", 600, policy, 2000);
  CHECK_FALSE(b.allowed);
  CHECK(b.tokens_exhausted);
  CHECK(b.remaining_tokens == 400);
  CHECK(b.reset_ms == 59000);
  CHECK(limiter.admit("other", 600, policy, 2000).allowed);  // another tenant is not affected
  RateDecision c = limiter.admit("t", 600, policy, 61000);   // a new window
  CHECK(c.allowed);
  CHECK(c.remaining_tokens == 400);
}

TEST_CASE("rate limiter: request budget") {
  RateLimiter limiter(16);
  RateLimitPolicy policy{0, 2};
  CHECK(limiter.admit("t", 5, policy, 1).remaining_requests == 1);
  CHECK(limiter.admit("t", 5, policy, 2).remaining_requests == 0);
  RateDecision d = limiter.admit("t", 5, policy, 3);
  CHECK_FALSE(d.allowed);
  CHECK_FALSE(d.tokens_exhausted);
}

TEST_CASE("rate limiter: the estimate is corrected by the usage, never below zero, only in its window") {
  RateLimiter limiter(16);
  RateLimitPolicy policy{1000, 0};
  RateDecision a = limiter.admit("t", 100, policy, 10);
  limiter.correct(a.slot, a.window_start_ms, 700);  // the answer used 800 tokens
  CHECK(limiter.admit("t", 0, policy, 20).remaining_tokens == 200);
  limiter.correct(a.slot, a.window_start_ms, -5000);
  CHECK(limiter.admit("t", 0, policy, 30).remaining_tokens == 1000);
  limiter.correct(a.slot, a.window_start_ms + 1, 900);  // another window: ignored
  CHECK(limiter.admit("t", 0, policy, 40).remaining_tokens == 1000);
}

TEST_CASE("rate limiter: hostile tenant ids cannot grow the table past max_tenants") {
  RateLimiter limiter(8);
  RateLimitPolicy policy{0, 1};
  for (int i = 0; i < 1000; ++i) limiter.admit("tenant-" + std::to_string(i), 1, policy, 100);
  CHECK(limiter.tenants() == 8);
  CHECK(limiter.overflowed() > 0);
  // Overflowing tenants share one budget: the first took it.
  CHECK_FALSE(limiter.admit("yet-another", 1, policy, 100).allowed);
  // Idle for two windows, a slot is given to a new tenant.
  CHECK(limiter.admit("late-comer", 1, policy, 100 + 2 * RateLimiter::kWindowMs).allowed);
}

TEST_CASE("rate limiter: x-ratelimit-* headers") {
  RateDecision d;
  d.remaining_tokens = 40;
  d.remaining_requests = 3;
  d.reset_ms = 12500;
  std::string out;
  append_rate_limit_headers(out, RateLimitPolicy{100, 5}, d);
  CHECK(out ==
        "x-ratelimit-limit-requests: 5\r\nx-ratelimit-remaining-requests: 3\r\nx-ratelimit-reset-requests: 12.5s\r\n"
        "x-ratelimit-limit-tokens: 100\r\nx-ratelimit-remaining-tokens: 40\r\nx-ratelimit-reset-tokens: 12.5s\r\n");
  out.clear();
  append_rate_limit_headers(out, RateLimitPolicy{100, 0}, d);
  CHECK(out.find("requests") == std::string::npos);
  out.clear();
  append_reset_duration(out, 60000);
  CHECK(out == "60s");
}

TEST_CASE("rate limiter: shared budgets without an allowance spend limit / replicas, windows on the origin") {
  RateLimiter limiter(16);
  RateLimitPolicy policy{900, 0};
  limiter.set_shared(5000, 3);
  RateDecision a = limiter.admit("t", 300, policy, 70000);
  CHECK(a.allowed);
  CHECK(a.window_start_ms == 65000);  // Redis's minute, not the first request
  CHECK(a.reset_ms == 55000);
  CHECK(a.remaining_tokens == 0);     // of this replica's third
  CHECK_FALSE(limiter.admit("t", 1, policy, 70001).allowed);
  // The next window starts on the origin too.
  CHECK(limiter.admit("t", 300, policy, 125000).window_start_ms == 125000);
}

TEST_CASE("rate limiter: a published allowance for the window caps the tenant; the headers tell the global budget") {
  RateLimiter limiter(16);
  RateLimitPolicy policy{900, 10};
  limiter.set_shared(5000, 3);
  RateDecision a = limiter.admit("t", 100, policy, 70000);
  REQUIRE(a.allowed);
  size_t claimed = 0;
  limiter.for_each_claimed([&](uint32_t slot) {
    ++claimed;
    CHECK(slot == a.slot);
  });
  CHECK(claimed == 1);
  RateSlotView v = limiter.read_slot(a.slot);
  CHECK(v.tokens == 100);
  CHECK(v.requests == 1);
  CHECK(v.window_start_ms == 65000);
  CHECK(v.policy.tokens_per_minute == 900);
  limiter.set_allowance(a.slot, RateAllowance{65000, 600, 5, 200, 3});
  RateDecision b = limiter.admit("t", 400, policy, 70010);  // 500 of 600
  CHECK(b.allowed);
  CHECK(b.remaining_tokens == 200);    // 900 - (200 others + 500 here)
  CHECK(b.remaining_requests == 5);    // 10 - (3 + 2)
  RateDecision c = limiter.admit("t", 200, policy, 70020);
  CHECK_FALSE(c.allowed);              // 700 > 600 here, though the window has 200 left
  CHECK(c.tokens_exhausted);
  // An allowance for another window is not this one's: back to limit / replicas (300, spent 500).
  limiter.set_allowance(a.slot, RateAllowance{5000, 900, 10, 0, 0});
  CHECK_FALSE(limiter.admit("t", 1, policy, 70030).allowed);
  limiter.set_allowance(a.slot, RateAllowance{65000, 900, 10, 0, 0});
  CHECK(limiter.admit("t", 1, policy, 70040).allowed);
  limiter.clear_allowances();
  CHECK_FALSE(limiter.admit("t", 1, policy, 70050).allowed);
}

TEST_CASE("rate limiter: request budgets divide rounding up, so a small budget is not zero per replica") {
  RateLimiter limiter(16);
  limiter.set_shared(0, 3);
  RateLimitPolicy policy{0, 2};
  CHECK(limiter.admit("t", 1, policy, 70000).allowed);  // ceil(2 / 3) = 1
  CHECK_FALSE(limiter.admit("t", 1, policy, 70001).allowed);
}
