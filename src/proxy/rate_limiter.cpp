#include "ringgate/proxy/rate_limiter.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>

namespace ringgate::proxy {

namespace {
size_t power_of_two_at_least(size_t n) {
  size_t p = 16;
  while (p < n) p <<= 1;
  return p;
}
}  // namespace

RateLimiter::RateLimiter(size_t max_tenants)
    : max_tenants_(std::max<size_t>(1, max_tenants)),
      capacity_(power_of_two_at_least(2 * max_tenants_)),
      slots_(new Slot[capacity_ + 1]) {}

uint32_t RateLimiter::find_slot(uint64_t key, uint64_t now_ms) {
  const size_t mask = capacity_ - 1;
  size_t index = size_t(key) & mask;
  for (size_t probe = 0; probe < kMaxProbes; ++probe, index = (index + 1) & mask) {
    Slot& s = slots_[index];
    uint64_t current = s.key.load(std::memory_order_acquire);
    if (current == key) return uint32_t(index);
    if (current == 0) {
      if (used_.load(std::memory_order_relaxed) >= max_tenants_) continue;  // full: only idle slots can be taken
      if (s.key.compare_exchange_strong(current, key, std::memory_order_acq_rel)) {
        used_.fetch_add(1, std::memory_order_relaxed);
        s.window_start_ms.store(now_ms, std::memory_order_relaxed);
        s.tokens.store(0, std::memory_order_relaxed);
        s.requests.store(0, std::memory_order_relaxed);
        return uint32_t(index);
      }
      if (current == key) return uint32_t(index);
      continue;
    }
    // A tenant idle for two windows has nothing left to remember: its slot is reused.
    const uint64_t start = s.window_start_ms.load(std::memory_order_relaxed);
    if (now_ms > start && now_ms - start >= 2 * kWindowMs &&
        s.key.compare_exchange_strong(current, key, std::memory_order_acq_rel)) {
      s.window_start_ms.store(now_ms, std::memory_order_relaxed);
      s.tokens.store(0, std::memory_order_relaxed);
      s.requests.store(0, std::memory_order_relaxed);
      return uint32_t(index);
    }
  }
  overflowed_.fetch_add(1, std::memory_order_relaxed);
  return uint32_t(capacity_);
}

RateDecision RateLimiter::admit(std::string_view tenant, uint64_t estimated_tokens, const RateLimitPolicy& policy,
                                uint64_t now_ms) {
  uint64_t key = XXH3_64bits(tenant.data(), tenant.size());
  if (key == 0) key = 1;
  RateDecision d;
  d.slot = find_slot(key, now_ms);
  Slot& s = slots_[d.slot];
  uint64_t start = s.window_start_ms.load(std::memory_order_acquire);
  if (now_ms >= start + kWindowMs || start == 0) {
    // A new window: whoever wins the exchange resets the counts.
    if (s.window_start_ms.compare_exchange_strong(start, now_ms, std::memory_order_acq_rel)) {
      s.tokens.store(0, std::memory_order_relaxed);
      s.requests.store(0, std::memory_order_relaxed);
      start = now_ms;
    }
  }
  d.window_start_ms = start;
  d.reset_ms = start + kWindowMs > now_ms ? start + kWindowMs - now_ms : 0;
  const uint64_t tokens = s.tokens.load(std::memory_order_relaxed);
  const uint64_t requests = s.requests.load(std::memory_order_relaxed);
  if (policy.requests_per_minute && requests >= policy.requests_per_minute) {
    d.allowed = false;
  } else if (policy.tokens_per_minute && tokens + estimated_tokens > policy.tokens_per_minute) {
    d.allowed = false;
    d.tokens_exhausted = true;
  }
  uint64_t tokens_after = tokens, requests_after = requests;
  if (d.allowed) {
    tokens_after = s.tokens.fetch_add(estimated_tokens, std::memory_order_relaxed) + estimated_tokens;
    requests_after = s.requests.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  if (policy.tokens_per_minute) d.remaining_tokens = policy.tokens_per_minute - std::min(tokens_after, policy.tokens_per_minute);
  if (policy.requests_per_minute)
    d.remaining_requests = policy.requests_per_minute - std::min(requests_after, policy.requests_per_minute);
  return d;
}

void RateLimiter::correct(uint32_t slot, uint64_t window_start_ms, int64_t delta) {
  if (slot > capacity_ || delta == 0) return;
  Slot& s = slots_[slot];
  if (s.window_start_ms.load(std::memory_order_acquire) != window_start_ms) return;
  if (delta > 0) {
    s.tokens.fetch_add(uint64_t(delta), std::memory_order_relaxed);
    return;
  }
  uint64_t current = s.tokens.load(std::memory_order_relaxed);
  for (;;) {
    const uint64_t next = current > uint64_t(-delta) ? current - uint64_t(-delta) : 0;
    if (s.tokens.compare_exchange_weak(current, next, std::memory_order_relaxed)) return;
  }
}

void append_reset_duration(std::string& out, uint64_t ms) {
  char text[32];
  if (ms % 1000 == 0) std::snprintf(text, sizeof text, "%llus", static_cast<unsigned long long>(ms / 1000));
  else std::snprintf(text, sizeof text, "%.3gs", double(ms) / 1000.0);
  out += text;
}

void append_rate_limit_headers(std::string& out, const RateLimitPolicy& policy, const RateDecision& d) {
  auto line = [&out](std::string_view name, uint64_t value) {
    out += name;
    out += ": ";
    out += std::to_string(value);
    out += "\r\n";
  };
  if (policy.requests_per_minute) {
    line("x-ratelimit-limit-requests", policy.requests_per_minute);
    line("x-ratelimit-remaining-requests", d.remaining_requests);
    out += "x-ratelimit-reset-requests: ";
    append_reset_duration(out, d.reset_ms);
    out += "\r\n";
  }
  if (policy.tokens_per_minute) {
    line("x-ratelimit-limit-tokens", policy.tokens_per_minute);
    line("x-ratelimit-remaining-tokens", d.remaining_tokens);
    out += "x-ratelimit-reset-tokens: ";
    append_reset_duration(out, d.reset_ms);
    out += "\r\n";
  }
}

}  // namespace ringgate::proxy
