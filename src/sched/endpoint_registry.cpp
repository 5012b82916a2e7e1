#include "ringgate/sched/endpoint_registry.h"

namespace ringgate::sched {

std::string EndpointRegistry::key(std::string_view host, uint16_t port) {
    std::string k(host);
    k.push_back(':');
    k.append(std::to_string(port));
    return k;
}

EndpointId EndpointRegistry::id_for(std::string_view host, uint16_t port) {
    std::string k = key(host, port);
    auto it = ids_.find(k);
    if (it != ids_.end()) return it->second;
    if (ids_.size() >= max_ids_) return kNoEndpoint;
    EndpointId id = EndpointId(ids_.size());
    ids_.emplace(std::move(k), id);
    return id;
}

EndpointId EndpointRegistry::find(std::string_view host, uint16_t port) const {
    auto it = ids_.find(key(host, port));
    return it == ids_.end() ? kNoEndpoint : it->second;
}

}  // namespace ringgate::sched
