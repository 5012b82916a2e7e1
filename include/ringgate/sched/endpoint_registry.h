#pragma once
// Hands out stable EndpointIds: the same "host:port" always gets the same id for
// the life of the process, ids are dense (0, 1, 2, ...) and never reused.
// Control thread only (not thread-safe).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ringgate/sched/endpoint_id.h"

namespace ringgate::sched {

class EndpointRegistry {
public:
    explicit EndpointRegistry(size_t max_ids = 1u << 16) : max_ids_(max_ids) {}

    // The id of host:port, allocating the next one if new. kNoEndpoint when
    // max_ids distinct addresses have been seen (caller logs and skips it).
    EndpointId id_for(std::string_view host, uint16_t port);
    // kNoEndpoint if never registered.
    EndpointId find(std::string_view host, uint16_t port) const;

    size_t size() const { return ids_.size(); }
    size_t max_ids() const { return max_ids_; }

private:
    static std::string key(std::string_view host, uint16_t port);
    size_t max_ids_;
    std::unordered_map<std::string, EndpointId> ids_;
};

}  // namespace ringgate::sched
