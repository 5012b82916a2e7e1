#include <vector>

#include "ringgate/control/admin_pages.h"

namespace ringgate::control {

FlowView flow_view(const AdminSources& sources) {
  FlowView view;
  view.pool_name = sources.options->pool_name;
  view.snapshot = sources.loop->current();
  view.inflight = &sources.loop->inflight();
  view.saturation = sources.loop->saturation();
  view.now = Clock::now();
  view.limiter = sources.options->limiter;
  return view;
}

AdminResponse debug_flow_page(const AdminSources& sources, std::string_view) {
  std::vector<const metrics::WorkerStats*> workers;
  for (const metrics::WorkerStats* w : *sources.worker_stats)
    if (w) workers.push_back(w);
  return {200, "application/json", render_debug_flow(flow_view(sources), workers)};
}

}  // namespace ringgate::control
