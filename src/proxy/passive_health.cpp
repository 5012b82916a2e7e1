#include "ringgate/proxy/passive_health.h"

#include <time.h>

#include <algorithm>

namespace ringgate::proxy {

uint64_t PassiveHealth::now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

void PassiveHealth::reset(sched::EndpointId id) {
  Slot* s = slot(id);
  if (s == nullptr) return;
  s->failures.store(0, std::memory_order_relaxed);
  s->level.store(0, std::memory_order_relaxed);
  s->trial_until.store(0, std::memory_order_relaxed);
  if (s->ejected_until.exchange(0, std::memory_order_acq_rel) != 0) ejected_.fetch_sub(1, std::memory_order_relaxed);
}

uint64_t PassiveHealth::eject_length_ms(uint32_t level) const {
  uint64_t length = std::max<uint64_t>(options_.eject_base_ms, 1);
  for (uint32_t i = 0; i < level && length < options_.eject_max_ms; ++i) length *= 2;
  return std::min(length, std::max(options_.eject_max_ms, options_.eject_base_ms));
}

bool PassiveHealth::blocked(sched::EndpointId id, uint64_t now_ms) const {
  const Slot* s = slot(id);
  if (s == nullptr) return false;
  const uint64_t until = s->ejected_until.load(std::memory_order_acquire);
  if (until == 0) return false;
  if (now_ms < until) return true;
  return s->trial_until.load(std::memory_order_acquire) > now_ms;  // half-open, trial running
}

bool PassiveHealth::claim_trial(sched::EndpointId id, uint64_t now_ms) {
  Slot* s = slot(id);
  if (s == nullptr) return true;
  const uint64_t until = s->ejected_until.load(std::memory_order_acquire);
  if (until == 0) return true;
  if (now_ms < until) return false;
  uint64_t trial = s->trial_until.load(std::memory_order_acquire);
  if (trial > now_ms) return false;
  // The lease frees the trial if its request vanishes without a verdict (client gone).
  const uint64_t lease = eject_length_ms(s->level.load(std::memory_order_relaxed));
  return s->trial_until.compare_exchange_strong(trial, now_ms + lease, std::memory_order_acq_rel);
}

void PassiveHealth::record_success(sched::EndpointId id, uint64_t now_ms) {
  Slot* s = slot(id);
  if (s == nullptr) return;
  uint64_t until = s->ejected_until.load(std::memory_order_relaxed);
  if (until == 0) {
    if (s->failures.load(std::memory_order_relaxed) != 0) s->failures.store(0, std::memory_order_relaxed);
    return;
  }
  // Answers to requests sent before the ejection do not end it early; a success once
  // half-open (the trial, normally) readmits.
  if (now_ms < until) return;
  if (s->ejected_until.compare_exchange_strong(until, 0, std::memory_order_acq_rel)) {
    ejected_.fetch_sub(1, std::memory_order_relaxed);
    s->failures.store(0, std::memory_order_relaxed);
    s->level.store(0, std::memory_order_relaxed);
    s->trial_until.store(0, std::memory_order_release);
  }
}

bool PassiveHealth::record_failure(sched::EndpointId id, uint64_t now_ms) {
  Slot* s = slot(id);
  if (s == nullptr || options_.eject_after_failures == 0) return false;
  uint64_t until = s->ejected_until.load(std::memory_order_acquire);
  if (until != 0) {
    if (now_ms < until) return false;  // a late failure of a request sent before the ejection
    // Half-open and it failed again: eject for twice as long.
    const uint32_t level = s->level.load(std::memory_order_relaxed) + 1;
    if (!s->ejected_until.compare_exchange_strong(until, now_ms + eject_length_ms(level), std::memory_order_acq_rel))
      return false;
    s->level.store(level, std::memory_order_relaxed);
    s->trial_until.store(0, std::memory_order_release);
    s->ejections.fetch_add(1, std::memory_order_relaxed);
    ejections_total_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  const uint32_t failures = s->failures.fetch_add(1, std::memory_order_relaxed) + 1;
  if (failures < options_.eject_after_failures) return false;
  uint64_t expected = 0;
  const uint64_t length = eject_length_ms(s->level.load(std::memory_order_relaxed));
  if (!s->ejected_until.compare_exchange_strong(expected, now_ms + length, std::memory_order_acq_rel)) return false;
  ejected_.fetch_add(1, std::memory_order_relaxed);
  s->trial_until.store(0, std::memory_order_release);
  s->ejections.fetch_add(1, std::memory_order_relaxed);
  ejections_total_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

PassiveHealthView PassiveHealth::view(sched::EndpointId id, uint64_t now_ms) const {
  PassiveHealthView v;
  const Slot* s = slot(id);
  if (s == nullptr) return v;
  v.consecutive_failures = s->failures.load(std::memory_order_relaxed);
  v.ejections = s->ejections.load(std::memory_order_relaxed);
  const uint64_t until = s->ejected_until.load(std::memory_order_acquire);
  if (until != 0) {
    v.half_open = now_ms >= until;
    v.ejected_for_ms = v.half_open ? 0 : until - now_ms;
  }
  v.ejected = blocked(id, now_ms);
  return v;
}

}  // namespace ringgate::proxy
