#pragma once
// Passive health of the endpoints, shared by every worker and the control thread:
// what real requests learnt about each endpoint (connect refused / reset / timeout,
// a 5xx before the first byte reached the client). After `eject_after_failures`
// consecutive failures an endpoint is ejected for eject_base × 2^(ejections in a row),
// capped at eject_max; when that time is over it is half-open: one worker may claim
// one trial request; its success readmits the endpoint, its failure ejects it again
// for twice as long.
//
// Lock-free: per-endpoint relaxed/acq-rel atomics indexed by EndpointId in
// util::StableSlots, made addressable by the control thread (ensure()) before the id is
// published (as sched::InflightCounters). The request path
// pays one relaxed load (ejected_count()) while nothing is ejected.
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "ringgate/sched/endpoint_id.h"
#include "ringgate/util/stable_slots.h"

namespace ringgate::proxy {

struct PassiveHealthOptions {
  uint32_t eject_after_failures = 3;  // 0 = passive ejection off
  uint64_t eject_base_ms = 1000;
  uint64_t eject_max_ms = 30000;
};

// What /debug/endpoints shows of one endpoint.
struct PassiveHealthView {
  uint32_t consecutive_failures = 0;
  bool ejected = false;        // not routable now (ejected, or half-open with its trial taken)
  bool half_open = false;      // the ejection time is over: a trial may run
  uint64_t ejected_for_ms = 0; // time left of the ejection
  uint64_t ejections = 0;      // total over the endpoint's life here
};

class PassiveHealth {
 public:
  explicit PassiveHealth(PassiveHealthOptions options = {}) : options_(options) {}

  const PassiveHealthOptions& options() const { return options_; }

  // Control thread: make `id` addressable. False if beyond the limit.
  bool ensure(sched::EndpointId id) { return slots_.ensure(id); }
  // Control thread: forget what requests learnt (the endpoint joined again or came
  // back after its metric polls had failed: a new process).
  void reset(sched::EndpointId id);

  // Endpoints ejected now or half-open: while 0, nothing needs a per-endpoint look.
  uint32_t ejected_count() const { return ejected_.load(std::memory_order_relaxed); }

  // True if `id` must not get a request at `now_ms` (ejected, or half-open with a
  // trial running). A half-open endpoint without a trial is available: route to it,
  // then claim_trial().
  bool blocked(sched::EndpointId id, uint64_t now_ms) const;
  // After the router picked `id`: if it is half-open, try to become its one trial.
  // True = go ahead (not ejected, or this request is the trial); false = another
  // request holds the trial, pick again without it.
  bool claim_trial(sched::EndpointId id, uint64_t now_ms);

  // The endpoint answered (a response head below 500). Two relaxed loads when healthy.
  void record_success(sched::EndpointId id, uint64_t now_ms);
  // Connect refused / reset / timeout, or a 5xx before the first byte reached the client.
  // True if this failure ejected the endpoint.
  bool record_failure(sched::EndpointId id, uint64_t now_ms);

  PassiveHealthView view(sched::EndpointId id, uint64_t now_ms) const;
  uint64_t ejections_total() const { return ejections_total_.load(std::memory_order_relaxed); }

  // The clock every caller passes as now_ms (CLOCK_MONOTONIC, milliseconds).
  static uint64_t now_ms();

 private:
  struct alignas(64) Slot {
    std::atomic<uint32_t> failures{0};
    std::atomic<uint32_t> level{0};          // ejections in a row (backoff exponent)
    std::atomic<uint64_t> ejected_until{0};  // 0 = admitted; else ms (half-open once passed)
    std::atomic<uint64_t> trial_until{0};    // a trial runs until then (lease)
    std::atomic<uint64_t> ejections{0};
  };
  Slot* slot(sched::EndpointId id) const { return slots_.at(id); }
  uint64_t eject_length_ms(uint32_t level) const;
  void eject(Slot& s, uint64_t now_ms, bool from_admitted);

  PassiveHealthOptions options_;
  util::StableSlots<Slot> slots_;
  std::atomic<uint32_t> ejected_{0};
  std::atomic<uint64_t> ejections_total_{0};
};

}  // namespace ringgate::proxy
