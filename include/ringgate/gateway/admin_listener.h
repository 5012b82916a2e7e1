#pragma once
// The admin port (:9090). The gateway binds it and hands the socket over here; this
// is the one function the control layer's admin server replaces.
#include <vector>

#include "ringgate/proxy/endpoint.h"
#include "ringgate/proxy/model_catalog.h"
#include "ringgate/proxy/worker_counters.h"

namespace ringgate::gateway {

struct AdminContext {
  int listen_fd = -1;                                     // bound, listening, blocking
  std::vector<const proxy::WorkerCounters*> counters;     // one per worker: sum at scrape time
  proxy::EndpointSet* endpoints = nullptr;
  const proxy::ModelCatalog* catalog = nullptr;
};

// Serves the admin port on its own thread until the process exits: for now
// GET /healthz → 200 "ok", anything else → 404.
void start_admin_listener(AdminContext context);

}  // namespace ringgate::gateway
