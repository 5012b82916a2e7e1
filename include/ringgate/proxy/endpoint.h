#pragma once
// The upstream servers requests can go to. Ids are stable per address for the life
// of the process; in-flight counts are shared by all workers (relaxed atomics) so the
// router sees load faster than any metrics poll.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ringgate/net/address.h"

namespace ringgate::proxy {

struct Endpoint {
  uint32_t id = 0;
  net::Address address;
  std::string name;  // "host:port" as given
  std::atomic<int32_t> in_flight{0};
  // Models this endpoint reported on GET /v1/models; empty = unknown (serves anything).
  std::vector<std::string> models;
};

class EndpointSet {
 public:
  // Returns the id of `address`, adding it when new.
  uint32_t add(const net::Address& address, std::string name);
  size_t size() const { return endpoints_.size(); }
  Endpoint& at(uint32_t id) { return *endpoints_[id]; }
  const Endpoint& at(uint32_t id) const { return *endpoints_[id]; }

 private:
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
};

}  // namespace ringgate::proxy
