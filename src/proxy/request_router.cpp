#include "ringgate/proxy/request_router.h"

#include <algorithm>

namespace ringgate::proxy {

static bool serves(const Endpoint& endpoint, std::string_view model) {
  if (endpoint.models.empty()) return true;  // not known: let the endpoint decide
  return std::find(endpoint.models.begin(), endpoint.models.end(), model) != endpoint.models.end();
}

RouteDecision RequestRouter::route(const RouteRequest& request) const {
  RouteDecision decision;
  if (endpoints_.size() == 0) {
    decision.status = 503;
    decision.code = "no_endpoint";
    decision.message = "no upstream endpoint is configured";
    return decision;
  }
  bool any_serves = false;
  const Endpoint* best = nullptr;
  int32_t best_load = 0;
  for (uint32_t id = 0; id < endpoints_.size(); ++id) {
    const Endpoint& endpoint = endpoints_.at(id);
    if (!serves(endpoint, request.model)) continue;
    any_serves = true;
    if (std::find(request.exclude.begin(), request.exclude.end(), id) != request.exclude.end()) continue;
    const int32_t load = endpoint.in_flight.load(std::memory_order_relaxed);
    if (best == nullptr || load < best_load) {
      best = &endpoint;
      best_load = load;
    }
  }
  if (!any_serves) {
    decision.status = 404;
    decision.code = "model_not_found";
    decision.message = "no endpoint serves the requested model";
    return decision;
  }
  if (best == nullptr) {
    decision.status = 503;
    decision.code = "no_endpoint";
    decision.message = "every endpoint that serves the model has failed";
    return decision;
  }
  decision.endpoint_id = best->id;
  decision.address = &best->address;
  return decision;
}

}  // namespace ringgate::proxy
