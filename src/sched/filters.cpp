#include "ringgate/sched/filters.h"

#include <algorithm>

#include "ringgate/sched/inflight_counters.h"
#include "ringgate/sched/saturation_detector.h"
#include "ringgate/sched/scheduler_config.h"

namespace ringgate::sched {
namespace {

// NaN or infinite gauges would poison every comparison downstream (a NaN
// score never wins nor loses): NaN counts as 0, the rest is clamped.
constexpr double kMaxQueue = 1e9;
double sane(double v, double hi) { return v == v ? std::clamp(v, 0.0, hi) : 0.0; }

}  // namespace

CandidateStatus filter_candidates(const EndpointSnapshot& snapshot, std::string_view model,
                                  std::span<const EndpointId> exclude, const InflightCounters& inflight,
                                  Clock::time_point now, const SchedulerConfig& config, std::span<EndpointSignals> out,
                                  size_t& count, PickLeg leg) {
  count = 0;
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  EndpointSnapshot::ModelEndpoints serving = snapshot.endpoints_for(model);
  if (serving.serving.empty()) return CandidateStatus::UnknownModel;
  if (serving.routable.empty()) return CandidateStatus::NoneRoutable;
  bool any_takes_leg = false;
  for (uint32_t index : serving.routable) {
    const EndpointScoringView& e = snapshot.scoring_view(index);
    if (!takes(e.role, leg)) continue;
    any_takes_leg = true;
    if (!exclude.empty() && std::find(exclude.begin(), exclude.end(), e.id) != exclude.end()) continue;
    if (count >= out.size()) break;
    EndpointSignals& s = out[count++];
    s = EndpointSignals{};
    s.index = index;
    s.id = e.id;
    // Every replica's requests: this gateway's own, live, and the others' as last synced.
    s.remote_inflight = std::max<int64_t>(0, e.remote_inflight);
    s.inflight = std::max<int64_t>(0, inflight.get(e.id)) + s.remote_inflight;
    s.sheddable_inflight = std::clamp<int64_t>(inflight.get_sheddable(e.id), 0, s.inflight);
    s.inflight_prefill_tokens = double(std::max<int64_t>(0, inflight.get_prefill_tokens(e.id)) +
                                       std::max<int64_t>(0, e.remote_prefill_tokens));
    s.awaiting_age_ms = inflight.awaiting_age_ms(e.id, now_ms);
    s.inflight_tokens = double(std::max<int64_t>(0, inflight.get_tokens(e.id)));
    s.cold_stamp = inflight.get_cold_stamp(e.id);
    s.slots = e.slots;
    if (e.has_metrics) s.metrics_age = now - e.scraped_at;
    s.fresh = e.has_metrics && s.metrics_age <= config.stale_after;
    if (s.fresh) {
      s.waiting = sane(e.waiting, kMaxQueue);
      s.running = sane(e.running, kMaxQueue);
      s.kv_usage = sane(e.kv_cache_usage, 1.0);
    }
    if (config.load_signal == LoadSignal::Shared) {
      // What every replica reads from the server, in coarse steps; this gateway's own
      // in-flight count only when there is no fresh scrape to share.
      const double raw = s.fresh ? s.waiting + s.running : double(s.inflight);
      s.load = to_step(raw, config.shared_load.step);
    } else {
      s.load = s.waiting + double(s.inflight);
    }
  }
  if (!any_takes_leg) return CandidateStatus::NoneRoutable;
  return count == 0 ? CandidateStatus::AllExcluded : CandidateStatus::Ok;
}

bool is_saturated(const EndpointSignals& s, const SchedulerConfig& config) {
  return endpoint_saturated(s, config.saturation);
}

}  // namespace ringgate::sched
