#include "ringgate/proxy/flow_queue.h"

#include <algorithm>

namespace ringgate::proxy {

namespace {

uint64_t share(uint64_t limit, size_t workers) {
  if (limit == UINT64_MAX || workers <= 1) return limit;
  return std::max<uint64_t>(1, limit / workers);
}
BandLimits share(const BandLimits& b, size_t workers) {
  return BandLimits{share(b.max_requests, workers), share(b.max_bytes, workers)};
}

}  // namespace

void assign_worker_share(FlowLimits& out, const FlowLimits& all, size_t workers) {
  out.total = share(all.total, workers);
  out.default_band = share(all.default_band, workers);
  out.bands.clear();  // keeps its capacity: a reload of the rules allocates nothing here
  for (const auto& [priority, limits] : all.bands) out.bands.emplace_back(priority, share(limits, workers));
  out.ttl_ms = all.ttl_ms;
  out.no_endpoint_ttl_ms = all.no_endpoint_ttl_ms;
}

const char* flow_outcome_name(FlowOutcome outcome) {
  switch (outcome) {
    case FlowOutcome::Dispatched: return "Dispatched";
    case FlowOutcome::RejectedCapacity: return "RejectedCapacity";
    case FlowOutcome::EvictedTTL: return "EvictedTTL";
    case FlowOutcome::EvictedContextCancelled: return "EvictedContextCancelled";
    case FlowOutcome::EvictedDisplaced: return "EvictedDisplaced";
    case FlowOutcome::RejectedNoEndpoints:
      return "RejectedNoEndpoints";
    case FlowOutcome::EvictedNoEndpoints:
      return "EvictedNoEndpoints";
  }
  return "?";
}

FlowQueue::Flow& FlowQueue::flow_of(Band& band, std::string_view id, bool at_next) {
  for (Flow& f : band.flows)
    if (f.id == id) return f;
  // A flow that starts (again) to wait takes its turn after the current one: inserted
  // just before the round-robin position, it is served last in this round. Put back
  // at the head (a dispatch that found the pool saturated), it is served next.
  const size_t at = std::min(band.next, band.flows.size());
  band.flows.insert(band.flows.begin() + ptrdiff_t(at), Flow{std::string(id), {}});
  if (!at_next) ++band.next;
  return band.flows[at];
}

FlowQueue::Entry FlowQueue::take(Bands::iterator it, size_t f, size_t index) {
  Band& band = it->second;
  Flow& flow = band.flows[f];
  const Entry entry = flow.items[index];
  flow.items.erase(flow.items.begin() + ptrdiff_t(index));
  band.requests -= 1;
  band.bytes -= entry.bytes;
  total_requests_ -= 1;
  total_bytes_ -= entry.bytes;
  if (flow.items.empty()) {
    band.flows.erase(band.flows.begin() + ptrdiff_t(f));
    if (f < band.next) --band.next;
    if (band.next >= band.flows.size()) band.next = 0;
  }
  if (band.requests == 0) bands_.erase(it);
  return entry;
}

FlowQueue::Entry FlowQueue::take_newest_of_longest(Bands::iterator it) {
  const std::vector<Flow>& flows = it->second.flows;
  size_t longest = 0;
  for (size_t i = 1; i < flows.size(); ++i)
    if (flows[i].items.size() > flows[longest].items.size()) longest = i;
  const int32_t priority = it->first;
  const std::string id = flows[longest].id;
  const Entry entry = take(it, longest, flows[longest].items.size() - 1);
  fairness_->left(priority, id, /*served=*/false);
  return entry;
}

bool FlowQueue::enqueue(FlowWaiter* waiter, int32_t priority, std::string_view flow_id, uint64_t bytes,
                        const FlowLimits& limits, uint64_t now_ms, bool offer) {
  const BandLimits& band_limits = limits.band(priority);
  if (band_limits.max_requests == 0 || bytes > band_limits.max_bytes || limits.total.max_requests == 0 ||
      bytes > limits.total.max_bytes)
    return false;
  bool offered = !offer;
  // Nothing waits anywhere: no queue to join, no turn to take; the request goes at once
  // if the pool has room (the shared fairness table is not touched off saturation).
  if (offer && bands_.empty() && !dispatching_ && fairness_->waiting() == 0 &&
      (shared_ == nullptr || shared_->highest_elsewhere(worker_, workers_) == FlowShared::kNone)) {
    dispatching_ = true;
    const bool gone = waiter->flow_try_dispatch();
    dispatching_ = false;
    if (gone) return true;
    offered = true;  // refused: the pool is saturated, no second offer below
  }
  std::vector<FlowWaiter*> evicted;
  for (;;) {
    auto it = bands_.find(priority);
    const uint64_t band_requests = it == bands_.end() ? 0 : it->second.requests;
    const uint64_t band_bytes = it == bands_.end() ? 0 : it->second.bytes;
    const bool band_ok = band_requests + 1 <= band_limits.max_requests && band_bytes + bytes <= band_limits.max_bytes;
    const bool total_ok =
        total_requests_ + 1 <= limits.total.max_requests && total_bytes_ + bytes <= limits.total.max_bytes;
    if (band_ok && total_ok) break;
    // Over the total: the lowest band below the newcomer gives way first.
    if (!total_ok && !bands_.empty() && std::prev(bands_.end())->first < priority) {
      evicted.push_back(take_newest_of_longest(std::prev(bands_.end())).waiter);
      continue;
    }
    // Within the band: the most backlogged flow gives up its newest request when it
    // would still hold more than the newcomer's flow.
    if (it != bands_.end()) {
      size_t own = 0, longest = 0;
      for (const Flow& f : it->second.flows) {
        if (f.id == flow_id) own = f.items.size();
        longest = std::max(longest, f.items.size());
      }
      if (longest > own + 1) {
        evicted.push_back(take_newest_of_longest(it).waiter);
        continue;
      }
    }
    notify(evicted, FlowOutcome::EvictedDisplaced);
    return false;
  }
  Band& band = bands_[priority];
  flow_of(band, flow_id, /*at_next=*/false).items.push_back(Entry{waiter, now_ms, bytes});
  band.requests += 1;
  band.bytes += bytes;
  total_requests_ += 1;
  total_bytes_ += bytes;
  fairness_->joined(priority, flow_id);
  publish();
  notify(evicted, FlowOutcome::EvictedDisplaced);
  if (!offered) dispatch();
  return true;
}

bool FlowQueue::remove(FlowWaiter* waiter) {
  for (auto it = bands_.begin(); it != bands_.end(); ++it) {
    std::vector<Flow>& flows = it->second.flows;
    for (size_t f = 0; f < flows.size(); ++f) {
      std::deque<Entry>& items = flows[f].items;
      for (size_t i = 0; i < items.size(); ++i) {
        if (items[i].waiter != waiter) continue;
        const int32_t priority = it->first;
        const std::string id = flows[f].id;
        take(it, f, i);
        fairness_->left(priority, id, /*served=*/false);
        publish();
        return true;
      }
    }
  }
  return false;
}

void FlowQueue::dispatch() {
  if (dispatching_) return;  // a callback re-entered: the running cycle goes on
  dispatching_ = true;
  while (!bands_.empty()) {
    auto it = bands_.begin();
    const int32_t priority = it->first;
    // Another worker holds a higher band: it goes first (it re-checks within a few ms).
    if (shared_ && shared_->highest_elsewhere(worker_, workers_) > priority) break;
    Band& band = it->second;
    if (band.next >= band.flows.size()) band.next = 0;
    // The flow served least gateway-wide; among equals, round-robin order from `next`.
    const size_t n = band.flows.size();
    turn_scratch_.clear();
    for (size_t k = 0; k < n; ++k) turn_scratch_.push_back(band.flows[(band.next + k) % n].id);
    const ptrdiff_t chosen = fairness_->pick(priority, turn_scratch_);
    turn_scratch_.clear();
    // A flow waiting on another worker is behind all of ours: its turn (that worker
    // rechecks within a few ms).
    if (chosen < 0) break;
    const size_t f = (band.next + size_t(chosen)) % n;
    const std::string id = band.flows[f].id;
    const Entry entry = take(it, f, 0);
    // Next turn to the next flow (take() moved `next` back when the flow emptied).
    if (auto again = bands_.find(priority); again != bands_.end()) {
      Band& b = again->second;
      if (f < b.flows.size() && b.flows[f].id == id) b.next = (f + 1) % b.flows.size();
    }
    // Not published yet: between the take and the answer, other workers must still see
    // this band as waiting here (a put-back would otherwise open a window in which they
    // dispatch a lower band).
    if (entry.waiter->flow_try_dispatch()) {
      fairness_->left(priority, id, /*served=*/true);
      publish();
      continue;
    }
    // Still saturated: back at the head of its flow, and that flow's turn comes first.
    Band& back = bands_[priority];
    Flow& flow = flow_of(back, id, /*at_next=*/true);
    flow.items.push_front(entry);
    for (size_t i = 0; i < back.flows.size(); ++i)
      if (&back.flows[i] == &flow) back.next = i;
    back.requests += 1;
    back.bytes += entry.bytes;
    total_requests_ += 1;
    total_bytes_ += entry.bytes;
    publish();
    break;
  }
  dispatching_ = false;
}

void FlowQueue::expire(uint64_t now_ms, uint64_t ttl_ms) {
  std::vector<FlowWaiter*> expired;
  // Each flow is in arrival order (a put-back entry returns to its own place).
  for (const auto& [priority, band] : bands_)
    for (const Flow& flow : band.flows)
      for (const Entry& e : flow.items) {
        if (now_ms - e.enqueued_ms < ttl_ms) break;
        expired.push_back(e.waiter);
      }
  for (FlowWaiter* w : expired) remove(w);
  notify(expired, FlowOutcome::EvictedTTL);
  dispatch();
}

void FlowQueue::notify(std::vector<FlowWaiter*>& evicted, FlowOutcome outcome) {
  for (FlowWaiter* w : evicted) w->flow_evicted(outcome);
  evicted.clear();
}

std::vector<FlowBandView> FlowQueue::bands() const {
  std::vector<FlowBandView> out;
  for (const auto& [priority, band] : bands_)
    out.push_back(FlowBandView{priority, band.requests, band.bytes, band.flows.size()});
  return out;
}

void FlowQueue::publish() {
  if (shared_) shared_->publish(worker_, highest_priority());
}

}  // namespace ringgate::proxy
