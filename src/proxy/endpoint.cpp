#include "ringgate/proxy/endpoint.h"

#include <cstring>

namespace ringgate::proxy {

uint32_t EndpointSet::add(const net::Address& address, std::string name) {
  for (const auto& endpoint : endpoints_) {
    if (std::memcmp(&endpoint->address.sin, &address.sin, sizeof address.sin) == 0) return endpoint->id;
  }
  auto endpoint = std::make_unique<Endpoint>();
  endpoint->id = uint32_t(endpoints_.size());
  endpoint->address = address;
  endpoint->name = std::move(name);
  endpoints_.push_back(std::move(endpoint));
  return endpoints_.back()->id;
}

}  // namespace ringgate::proxy
