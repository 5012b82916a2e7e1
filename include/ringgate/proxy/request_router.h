#pragma once
// THE routing seam: everything the proxy knows about a request goes in, one endpoint
// (or an error status) comes out. Today: least in-flight among the endpoints that
// serve the model. The sched layer's picker plugs in here and nowhere else.
#include <cstdint>
#include <span>
#include <string_view>

#include "ringgate/net/address.h"
#include "ringgate/proxy/endpoint.h"

namespace ringgate::proxy {

struct RouteRequest {
  std::string_view path;                          // "/v1/completions", ...
  std::string_view model;                         // target model (after any rewrite)
  bool stream = false;
  std::span<const std::string_view> prompt_parts; // completions: prompt(s); chat: role, content, ...
  std::span<const uint32_t> exclude;              // endpoints already tried for this request
};

struct RouteDecision {
  int status = 0;  // 0 = routed; else the error status (404 unknown model, 503 no endpoint)
  uint32_t endpoint_id = 0;
  const net::Address* address = nullptr;
  std::string_view code;     // on error
  std::string_view message;  // on error
};

class RequestRouter {
 public:
  explicit RequestRouter(EndpointSet& endpoints) : endpoints_(endpoints) {}
  // Safe from any worker thread: reads the endpoint set, relaxed in-flight loads.
  RouteDecision route(const RouteRequest& request) const;

 private:
  EndpointSet& endpoints_;
};

}  // namespace ringgate::proxy
