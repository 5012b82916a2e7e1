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
//
// Replicas sharing budgets (sharedState): the control thread's SharedRateLimits
// reserves budget from Redis for each tenant and window and publishes here, per slot,
// the allowance this replica may spend (its reservation plus its share of what nobody
// reserved yet) and what the other replicas hold. Windows then start on Redis's minute
// boundaries (set_shared's origin), so every replica spends in the same window. A slot
// without a current allowance (a new window before the next sync, Redis down) spends
// at most limit / replicas, the replica count as last seen. Admission itself stays a
// few atomics: no request waits on Redis.
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

// What the control thread reads of one tenant slot (SharedRateLimits).
struct RateSlotView {
  uint64_t key = 0;  // the tenant id's hash; 0 = empty
  uint64_t window_start_ms = 0;
  uint64_t tokens = 0;    // spent in that window (estimates, corrected by usage)
  uint64_t requests = 0;
  RateLimitPolicy policy;  // the budgets of the tenant's last request
};

// Published by the control thread for one slot's window.
struct RateAllowance {
  uint64_t window_start_ms = 0;  // the window it is for; another window ignores it
  uint64_t tokens = 0;           // this replica may spend up to these in the window
  uint64_t requests = 0;
  uint64_t others_tokens = 0;    // the other replicas' reservations (x-ratelimit-remaining-*)
  uint64_t others_requests = 0;
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

  // Control thread (sharedState). `window_origin_ms` (< kWindowMs): new windows start
  // at origin + k * kWindowMs instead of at a tenant's first request; `replicas`: the
  // divisor of a budget without a current allowance. (0, 1) is the unshared default.
  void set_shared(uint64_t window_origin_ms, uint64_t replicas);
  uint64_t shared_replicas() const { return replicas_.load(std::memory_order_relaxed); }
  // Slots 0..slot_count()-1, the overflow slot last.
  size_t slot_count() const { return capacity_ + 1; }
  // Calls f(slot) for each slot a tenant ever held (claiming one is rare; a scan of
  // the whole table every sync would not be).
  template <typename F>
  void for_each_claimed(F&& f) const {
    for (size_t w = 0; w < claimed_words_; ++w)
      for (uint64_t bits = claimed_[w].load(std::memory_order_acquire); bits != 0; bits &= bits - 1)
        f(uint32_t(w * 64 + size_t(__builtin_ctzll(bits))));
  }
  RateSlotView read_slot(uint32_t slot) const;
  void set_allowance(uint32_t slot, const RateAllowance& allowance);
  // Every slot back to limit / replicas (Redis gone).
  void clear_allowances();

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
    std::atomic<uint64_t> limit_tokens{0};  // the last request's policy, for the control thread
    std::atomic<uint64_t> limit_requests{0};
    // Written by the control thread (set_allowance); allowance_window last, read first.
    std::atomic<uint64_t> allowance_window{0};
    std::atomic<uint64_t> allowance_tokens{0};
    std::atomic<uint64_t> allowance_requests{0};
    std::atomic<uint64_t> others_tokens{0};
    std::atomic<uint64_t> others_requests{0};
  };
  uint32_t find_slot(uint64_t key, uint64_t now_ms);
  uint64_t window_start_for(uint64_t now_ms) const;

  size_t max_tenants_;
  size_t capacity_;  // a power of two; slots_[capacity_] is the overflow slot
  std::unique_ptr<Slot[]> slots_;
  size_t claimed_words_;
  std::unique_ptr<std::atomic<uint64_t>[]> claimed_;  // a bit per slot: ever claimed
  std::atomic<size_t> used_{0};
  std::atomic<uint64_t> overflowed_{0};
  std::atomic<uint64_t> origin_ms_{0};  // meaningful when shared_
  std::atomic<uint64_t> replicas_{1};
  std::atomic<bool> shared_{false};
};

// "12.5s" (OpenAI's x-ratelimit-reset-* are durations).
void append_reset_duration(std::string& out, uint64_t ms);
// The six x-ratelimit-* header lines for a decision (those of the budgets that are set).
void append_rate_limit_headers(std::string& out, const RateLimitPolicy& policy, const RateDecision& decision);

}  // namespace ringgate::proxy
