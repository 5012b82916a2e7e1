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
      slots_(new Slot[capacity_ + 1]),
      claimed_words_((capacity_ + 63) / 64),
      claimed_(new std::atomic<uint64_t>[claimed_words_]()) {}

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
        claimed_[index / 64].fetch_or(uint64_t(1) << (index % 64), std::memory_order_release);
        s.window_start_ms.store(window_start_for(now_ms), std::memory_order_relaxed);
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
      s.window_start_ms.store(window_start_for(now_ms), std::memory_order_relaxed);
      s.tokens.store(0, std::memory_order_relaxed);
      s.requests.store(0, std::memory_order_relaxed);
      return uint32_t(index);
    }
  }
  overflowed_.fetch_add(1, std::memory_order_relaxed);
  return uint32_t(capacity_);
}

uint64_t RateLimiter::window_start_for(uint64_t now_ms) const {
  if (!shared_.load(std::memory_order_relaxed)) return now_ms;
  const uint64_t into = (now_ms + kWindowMs - origin_ms_.load(std::memory_order_relaxed) % kWindowMs) % kWindowMs;
  return into < now_ms ? now_ms - into : now_ms;
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
    const uint64_t next = window_start_for(now_ms);
    if (s.window_start_ms.compare_exchange_strong(start, next, std::memory_order_acq_rel)) {
      s.tokens.store(0, std::memory_order_relaxed);
      s.requests.store(0, std::memory_order_relaxed);
      start = next;
    }
  }
  if (s.limit_tokens.load(std::memory_order_relaxed) != policy.tokens_per_minute)
    s.limit_tokens.store(policy.tokens_per_minute, std::memory_order_relaxed);
  if (s.limit_requests.load(std::memory_order_relaxed) != policy.requests_per_minute)
    s.limit_requests.store(policy.requests_per_minute, std::memory_order_relaxed);
  // What this replica may spend in the window: the whole budget unshared, the
  // published allowance when it is this window's, else limit / replicas.
  uint64_t cap_tokens = policy.tokens_per_minute, cap_requests = policy.requests_per_minute;
  uint64_t others_tokens = 0, others_requests = 0;
  bool allowance = false;
  if (shared_.load(std::memory_order_relaxed)) {
    if (s.allowance_window.load(std::memory_order_acquire) == start) {
      allowance = true;
      cap_tokens = std::min(cap_tokens, s.allowance_tokens.load(std::memory_order_relaxed));
      cap_requests = std::min(cap_requests, s.allowance_requests.load(std::memory_order_relaxed));
      others_tokens = s.others_tokens.load(std::memory_order_relaxed);
      others_requests = s.others_requests.load(std::memory_order_relaxed);
    } else {
      const uint64_t r = std::max<uint64_t>(1, replicas_.load(std::memory_order_relaxed));
      cap_tokens = (cap_tokens + r - 1) / r;
      cap_requests = (cap_requests + r - 1) / r;
    }
  }
  d.window_start_ms = start;
  d.reset_ms = start + kWindowMs > now_ms ? start + kWindowMs - now_ms : 0;
  const uint64_t tokens = s.tokens.load(std::memory_order_relaxed);
  const uint64_t requests = s.requests.load(std::memory_order_relaxed);
  if (policy.requests_per_minute && requests >= cap_requests) {
    d.allowed = false;
  } else if (policy.tokens_per_minute && tokens + estimated_tokens > cap_tokens) {
    d.allowed = false;
    d.tokens_exhausted = true;
  }
  uint64_t tokens_after = tokens, requests_after = requests;
  if (d.allowed) {
    tokens_after = s.tokens.fetch_add(estimated_tokens, std::memory_order_relaxed) + estimated_tokens;
    requests_after = s.requests.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  // The headers tell the global budget when it is known (the others' reservations),
  // else what this replica may still spend.
  auto remaining = [allowance](uint64_t limit, uint64_t cap, uint64_t others, uint64_t spent) {
    const uint64_t of = allowance ? limit : cap;
    const uint64_t used = allowance ? others + spent : spent;
    return of - std::min(used, of);
  };
  if (policy.tokens_per_minute)
    d.remaining_tokens = remaining(policy.tokens_per_minute, cap_tokens, others_tokens, tokens_after);
  if (policy.requests_per_minute)
    d.remaining_requests = remaining(policy.requests_per_minute, cap_requests, others_requests, requests_after);
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

void RateLimiter::set_shared(uint64_t window_origin_ms, uint64_t replicas) {
  origin_ms_.store(window_origin_ms % kWindowMs, std::memory_order_relaxed);
  replicas_.store(std::max<uint64_t>(1, replicas), std::memory_order_relaxed);
  shared_.store(true, std::memory_order_release);
}

RateSlotView RateLimiter::read_slot(uint32_t slot) const {
  RateSlotView v;
  if (slot > capacity_) return v;
  const Slot& s = slots_[slot];
  v.key = s.key.load(std::memory_order_acquire);
  v.window_start_ms = s.window_start_ms.load(std::memory_order_acquire);
  v.tokens = s.tokens.load(std::memory_order_relaxed);
  v.requests = s.requests.load(std::memory_order_relaxed);
  v.policy.tokens_per_minute = s.limit_tokens.load(std::memory_order_relaxed);
  v.policy.requests_per_minute = s.limit_requests.load(std::memory_order_relaxed);
  return v;
}

void RateLimiter::set_allowance(uint32_t slot, const RateAllowance& a) {
  if (slot > capacity_) return;
  Slot& s = slots_[slot];
  // A reader that sees the window sees this allowance's numbers (or a later one's).
  if (s.allowance_window.load(std::memory_order_relaxed) != a.window_start_ms) {
    s.allowance_window.store(0, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
  }
  s.allowance_tokens.store(a.tokens, std::memory_order_relaxed);
  s.allowance_requests.store(a.requests, std::memory_order_relaxed);
  s.others_tokens.store(a.others_tokens, std::memory_order_relaxed);
  s.others_requests.store(a.others_requests, std::memory_order_relaxed);
  s.allowance_window.store(a.window_start_ms, std::memory_order_release);
}

void RateLimiter::clear_allowances() {
  for (size_t i = 0; i <= capacity_; ++i) slots_[i].allowance_window.store(0, std::memory_order_release);
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
