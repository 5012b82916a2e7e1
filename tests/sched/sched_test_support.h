#pragma once
// Builders for snapshots in tests.
#include <string>
#include <vector>

#include "ringgate/sched/endpoint_snapshot.h"

namespace ringgate::sched::test {

inline EndpointState make_endpoint(EndpointId id, std::string model = "m", double waiting = 0, double kv_usage = 0,
                                   bool routable = true) {
  EndpointState e;
  e.id = id;
  e.address.host = "10.0.0." + std::to_string(id + 1);
  e.address.port = 8000;
  e.address_hash = address_hash(e.address.host, e.address.port);
  e.models.push_back(std::move(model));
  e.routable = routable;
  e.has_metrics = true;
  e.scraped_at = Clock::time_point{} + std::chrono::seconds(100);
  e.metrics.all.waiting = waiting;
  e.metrics.all.kv_cache_usage = kv_usage;
  e.metrics.all.has_waiting = true;
  e.metrics.all.has_kv_cache_usage = true;
  return e;
}

// "now" for which make_endpoint's metrics are fresh.
inline Clock::time_point fresh_now() {
  return Clock::time_point{} + std::chrono::seconds(100) + std::chrono::milliseconds(50);
}

inline std::vector<EndpointState> make_pool(size_t n, std::string model = "m") {
  std::vector<EndpointState> v;
  for (size_t i = 0; i < n; ++i) v.push_back(make_endpoint(EndpointId(i), model));
  return v;
}

}  // namespace ringgate::sched::test
