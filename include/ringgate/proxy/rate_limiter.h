#pragma once
// Per-tenant token and request budgets per minute, shared by every worker of one
// gateway (OpenAI-style: x-ratelimit-* headers on every response, 429 + Retry-After
// when a budget is spent).
//
// The tenant table is a fixed open-addressing array of atomics (no lock, no
// allocation per request). Hostile input is bounded: at most max_tenants tenants are
// tracked (a tenant idle for two windows gives its slot up), a tenant id that does
// not fit or finds no slot within a few probes shares one overflow budget, and the
// tenant header's length is bounded by the caller. Each tenant has a fixed one-minute
// window from its first request. Check-then-add is not one atomic step: racing
// workers may overshoot a budget by the requests admitted in the same instant.
//
// Tokens are estimated at admission (prompt bytes / 4) and corrected when the
// response's usage reports the real count (prompt + completion tokens).
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ringgate::proxy {

struct RateLimitPolicy {
  uint64_t tokens_per_minute = 0;    // 0 = no token budget
  uint64_t requests_per_minute = 0;  // 0 = no request budget
  bool active() const { return tokens_per_minute != 0 || requests_per_minute != 0; }
};

struct RateDecision {
  bool allowed = true;
  bool tokens_exhausted = false;  // else requests (when !allowed)
  uint32_t slot = 0;
  uint64_t window_start_ms = 0;   // for correct()
  uint64_t remaining_tokens = 0;
  uint64_t remaining_requests = 0;
  uint64_t reset_ms = 0;          // until the window starts over
};

class RateLimiter {
 public:
  static constexpr uint64_t kWindowMs = 60'000;
  static constexpr size_t kMaxProbes = 16;

  explicit RateLimiter(size_t max_tenants);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  RateDecision admit(std::string_view tenant, uint64_t estimated_tokens, const RateLimitPolicy& policy,
                     uint64_t now_ms);
  // Adds `delta` (actual − estimated tokens) to the slot's count, if its window is
  // still the one the request was admitted in. Never goes below 0.
  void correct(uint32_t slot, uint64_t window_start_ms, int64_t delta);

  size_t tenants() const { return used_.load(std::memory_order_relaxed); }
  size_t max_tenants() const { return max_tenants_; }
  uint64_t overflowed() const { return overflowed_.load(std::memory_order_relaxed); }
  uint32_t overflow_slot() const { return uint32_t(capacity_); }

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> key{0};  // 0 = empty
    std::atomic<uint64_t> window_start_ms{0};
    std::atomic<uint64_t> tokens{0};
    std::atomic<uint64_t> requests{0};
  };
  uint32_t find_slot(uint64_t key, uint64_t now_ms);

  size_t max_tenants_;
  size_t capacity_;  // a power of two; slots_[capacity_] is the overflow slot
  std::unique_ptr<Slot[]> slots_;
  std::atomic<size_t> used_{0};
  std::atomic<uint64_t> overflowed_{0};
};

// "12.5s" (OpenAI's x-ratelimit-reset-* are durations).
void append_reset_duration(std::string& out, uint64_t ms);
// The six x-ratelimit-* header lines for a decision (those of the budgets that are set).
void append_rate_limit_headers(std::string& out, const RateLimitPolicy& policy, const RateDecision& decision);

}  // namespace ringgate::proxy
