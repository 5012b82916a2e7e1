#include "ringgate/sched/endpoint_registry.h"

namespace ringgate::sched {

std::string EndpointRegistry::key(std::string_view host, uint16_t port, int32_t header_rank) {
  std::string k(host);
  k.push_back(':');
  k.append(std::to_string(port));
  if (header_rank >= 0) {
    k.push_back('#');
    k.append(std::to_string(header_rank));
  }
  return k;
}

EndpointId EndpointRegistry::reuse_released() {
  const Clock::time_point now = Clock::now();
  // Oldest first; one still in use (a request in flight) goes to the back, so the
  // scan is bounded by the released count and one busy id never blocks the rest.
  for (size_t tries = released_.size(); tries > 0; --tries) {
    Released r = released_.front();
    if (now - r.at < quarantine_) return kNoEndpoint;  // the rest are younger
    released_.pop_front();
    if (!may_reuse_ || may_reuse_(r.id)) return r.id;
    released_.push_back(r);
  }
  return kNoEndpoint;
}

EndpointId EndpointRegistry::id_for(std::string_view host, uint16_t port, int32_t header_rank) {
  std::string k = key(host, port, header_rank);
  auto it = ids_.find(k);
  if (it != ids_.end()) return it->second;
  EndpointId id = reuse_released();
  if (id == kNoEndpoint) {
    if (keys_.size() >= max_ids_) return kNoEndpoint;
    id = EndpointId(keys_.size());
    keys_.emplace_back();
  }
  keys_[id] = k;
  ids_.emplace(std::move(k), id);
  return id;
}

EndpointId EndpointRegistry::find(std::string_view host, uint16_t port, int32_t header_rank) const {
  auto it = ids_.find(key(host, port, header_rank));
  return it == ids_.end() ? kNoEndpoint : it->second;
}

void EndpointRegistry::release(EndpointId id) {
  if (id >= keys_.size() || keys_[id].empty()) return;
  ids_.erase(keys_[id]);
  keys_[id].clear();
  released_.push_back({id, Clock::now()});
}

}  // namespace ringgate::sched
