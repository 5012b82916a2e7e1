#include "ringgate/control/pool_events.h"

#include <string>

namespace ringgate::control {

namespace {
std::string unroutable_reason(const EndpointHealth* h) {
  if (!h) return {};
  if (h->terminating) return "terminating in discovery (draining: no new requests)";
  if (!h->discovered_ready) return "not ready in discovery";
  if (h->failed_scrapes) return std::to_string(h->failed_scrapes) + " failed polls: " + h->last_error;
  if (!h->has_models) return "serves no model";
  return {};
}
}  // namespace

// Endpoints that joined, left, or became routable or not since the last snapshot. Linear in
// the pool with one allocation: this runs on every publish (each scrape that moved a number);
// texts are made only for an event.
void PoolEvents::published(const sched::EndpointSnapshot* previous, const sched::EndpointSnapshot& next) {
  std::vector<uint8_t> state(member_state_.size(), kAbsent);
  size_t stayed = 0;
  for (const sched::EndpointState& e : next.endpoints()) {
    if (e.id >= state.size()) state.resize(size_t(e.id) + 1, kAbsent);
    state[e.id] = e.routable ? kRoutable : kUnroutable;
    const uint8_t was = e.id < member_state_.size() ? member_state_[e.id] : kAbsent;
    if (was != kAbsent) ++stayed;
    if (was == state[e.id]) continue;
    const std::string address = e.address.text();
    if (was == kAbsent) {
      const std::string_view name = pool_.name(e.id);
      events_.record(EventKind::Joined, address,
                     name.empty() || name == address ? std::string("joined the pool") : "pod " + std::string(name));
      if (e.id < passive_seen_.size()) passive_seen_[e.id] = {};
    }
    if (e.routable)
      events_.record(EventKind::Routable, address, "answers its polls");
    else if (was != kAbsent)
      events_.record(EventKind::Unroutable, address, unroutable_reason(pool_.health(e.id)));
  }
  if (stayed < members_ && previous) {
    for (const sched::EndpointState& e : previous->endpoints())
      if (e.id >= state.size() || state[e.id] == kAbsent)
        events_.record(EventKind::Left, e.address.text(), "no longer in the pool");
  }
  member_state_.swap(state);
  members_ = next.endpoints().size();
}

// Passive health is the workers' (atomics): looked at only while an ejection is new or
// running, so a healthy pool costs two loads a turn.
void PoolEvents::note_passive_health(const sched::EndpointSnapshot* snapshot) {
  const uint64_t total = health_.ejections_total();
  if (total == passive_ejections_seen_ && health_.ejected_count() == 0 && !passive_any_out_) return;
  passive_ejections_seen_ = total;
  passive_any_out_ = false;
  if (!snapshot) return;
  const uint64_t now_ms = proxy::PassiveHealth::now_ms();
  for (const sched::EndpointState& e : snapshot->endpoints()) {
    const proxy::PassiveHealthView v = health_.view(e.id, now_ms);
    if (e.id >= passive_seen_.size()) passive_seen_.resize(size_t(e.id) + 1);
    PassiveSeen& seen = passive_seen_[e.id];
    const bool out = v.ejected || v.half_open;
    if (out && v.ejections != seen.ejections)
      events_.record(EventKind::Ejected, e.address.text(),
                     std::to_string(v.consecutive_failures) + " failed requests in a row; out for " +
                         std::to_string(v.ejected_for_ms) + " ms");
    else if (seen.out && !out)
      events_.record(EventKind::Readmitted, e.address.text(),
                     "back in rotation (its trial request succeeded, or its polls answered again)");
    seen = {v.ejections, out};
    passive_any_out_ |= out;
  }
}

}  // namespace ringgate::control
