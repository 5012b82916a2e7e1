#include "ringgate/proxy/flow_fairness.h"

#include <algorithm>

namespace ringgate::proxy {

void FlowFairness::joined(int32_t band_priority, std::string_view flow) {
  std::lock_guard lock(mutex_);
  Band& band = bands_[band_priority];
  auto it = band.flows.find(flow);
  if (it == band.flows.end()) {
    // Starts level with the least-served waiting flow (0 in a band nobody waits in).
    const uint64_t start = band.served.empty() ? 0 : *band.served.begin();
    it = band.flows.emplace(std::string(flow), FlowState{start, 0}).first;
    band.served.insert(start);
  }
  it->second.waiting += 1;
  waiting_.fetch_add(1, std::memory_order_acq_rel);
}

void FlowFairness::left(int32_t band_priority, std::string_view flow, bool served) {
  std::lock_guard lock(mutex_);
  auto b = bands_.find(band_priority);
  if (b == bands_.end()) return;
  Band& band = b->second;
  auto it = band.flows.find(flow);
  if (it == band.flows.end()) return;
  FlowState& state = it->second;
  band.served.erase(band.served.find(state.served));
  waiting_.fetch_sub(1, std::memory_order_acq_rel);
  if (--state.waiting == 0) {
    band.flows.erase(it);
    if (band.flows.empty()) bands_.erase(b);
    return;
  }
  if (served) state.served += 1;
  band.served.insert(state.served);
}

ptrdiff_t FlowFairness::pick(int32_t band_priority, std::span<const std::string_view> flows) {
  std::lock_guard lock(mutex_);
  auto b = bands_.find(band_priority);
  if (b == bands_.end() || flows.empty()) return flows.empty() ? -1 : 0;
  const Band& band = b->second;
  ptrdiff_t best = -1;
  uint64_t best_served = 0;
  for (size_t i = 0; i < flows.size(); ++i) {
    auto it = band.flows.find(flows[i]);
    const uint64_t s = it == band.flows.end() ? 0 : it->second.served;
    if (best < 0 || s < best_served) {
      best = ptrdiff_t(i);
      best_served = s;
    }
  }
  const uint64_t floor = band.served.empty() ? best_served : *band.served.begin();
  return best_served > floor + kSlack ? -1 : best;
}

uint64_t FlowFairness::served(int32_t band_priority, std::string_view flow) const {
  std::lock_guard lock(mutex_);
  auto b = bands_.find(band_priority);
  if (b == bands_.end()) return 0;
  auto it = b->second.flows.find(flow);
  return it == b->second.flows.end() ? 0 : it->second.served;
}

size_t FlowFairness::flows() const {
  std::lock_guard lock(mutex_);
  size_t n = 0;
  for (const auto& [priority, band] : bands_) n += band.flows.size();
  return n;
}

}  // namespace ringgate::proxy
