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
