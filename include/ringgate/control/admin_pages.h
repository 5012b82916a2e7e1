#pragma once
// The admin listener's GET pages, one function (and file) each, as AdminViews' route
// table (admin_views.cpp) lists them: what the page reads, and the request's query string.
// Control thread.
#include <string_view>

#include "ringgate/control/admin_server.h"
#include "ringgate/control/admin_views.h"
#include "ringgate/control/flow_metrics.h"

namespace ringgate::control {

// /metrics: the gateway's, GAIE's and llm-d's families (metrics_page.cpp).
AdminResponse metrics_page(const AdminSources& sources, std::string_view query);
// /debug/endpoints: each endpoint as the scheduler and the pool see it (debug_endpoints_page.cpp).
AdminResponse debug_endpoints_page(const AdminSources& sources, std::string_view query);
// /debug/flow: saturation, the flow-control queues and the rate limits (debug_flow_page.cpp).
AdminResponse debug_flow_page(const AdminSources& sources, std::string_view query);
// /debug/connections: client connections open per worker, HTTP/2's and their streams among
// them (debug_connections_page.cpp).
AdminResponse debug_connections_page(const AdminSources& sources, std::string_view query);
// /debug/load: the compact load summary a hub schedules this gateway on (load_summary.h,
// debug_load_page.cpp).
AdminResponse debug_load_page(const AdminSources& sources, std::string_view query);
// What /debug/flow and /metrics' flow families read (debug_flow_page.cpp).
FlowView flow_view(const AdminSources& sources);

}  // namespace ringgate::control
