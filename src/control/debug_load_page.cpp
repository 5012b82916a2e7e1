#include "ringgate/control/admin_pages.h"
#include "ringgate/control/load_summary.h"
#include "ringgate/metrics/gateway_stats.h"

namespace ringgate::control {

AdminResponse debug_load_page(const AdminSources& sources, std::string_view) {
  LoadSummaryInputs in;
  in.snapshot = sources.loop->current();
  in.draining = sources.status->draining();
  in.now = Clock::now();
  in.saturation = pool_saturation(flow_view(sources));
  int64_t held = 0;
  if (sources.worker_stats)
    for (const metrics::WorkerStats* w : *sources.worker_stats)
      if (w) w->flow_bands.for_each([&](std::string_view, const metrics::FlowBandStats& s) { held += s.queued.get(); });
  in.held = double(std::max<int64_t>(0, held));
  return {200, "application/json", render_load_summary(in)};
}

}  // namespace ringgate::control
