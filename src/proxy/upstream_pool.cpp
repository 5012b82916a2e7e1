#include "ringgate/proxy/upstream_pool.h"

#include <algorithm>

#include "ringgate/proxy/connection.h"

namespace ringgate::proxy {

void UpstreamPool::put(Upstream* upstream, uint64_t now_ms) {
  if (upstream->endpoint_id >= idle_.size()) idle_.resize(upstream->endpoint_id + 1);
  upstream->idle_since_ms = now_ms;
  idle_[upstream->endpoint_id].push_back(upstream);
}

Upstream* UpstreamPool::take(uint32_t endpoint_id, uint64_t now_ms) {
  (void)now_ms;
  if (endpoint_id >= idle_.size()) return nullptr;
  auto& list = idle_[endpoint_id];
  while (!list.empty()) {
    Upstream* upstream = list.back();
    list.pop_back();
    if (!upstream->closing) return upstream;
  }
  return nullptr;
}

void UpstreamPool::remove(Upstream* upstream) {
  if (upstream->endpoint_id >= idle_.size()) return;
  auto& list = idle_[upstream->endpoint_id];
  const auto it = std::find(list.begin(), list.end(), upstream);
  if (it != list.end()) list.erase(it);
}

}  // namespace ringgate::proxy
