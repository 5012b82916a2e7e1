#include "ringgate/control/kv_event_sources.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace ringgate::control {

KvEventSources::KvEventSources(const config::KvEventsConfig& kv, const sched::SchedulerConfig& scheduler)
    : kv_(kv),
      exact_(size_t(kv.max_blocks_per_endpoint), size_t(1) << 16, scheduler.tier_weights),
      subscriber_(exact_, kvevents::KvEventLimits{}, kv.topic) {}

void KvEventSources::note_annotations(const std::vector<DesiredEndpoint>& members) {
  decltype(annotations_) next;
  for (const DesiredEndpoint& d : members) {
    if (!d.kv_events_port && !d.kv_events_replay_port && d.kv_events_problem.empty()) continue;
    Annotation a{d.kv_events_port, d.kv_events_replay_port, d.kv_events_problem};
    auto old = annotations_.find({d.host, d.port});
    // Once per change, not per membership update: a pod's bad annotation stays until edited.
    if (!a.problem.empty() && (old == annotations_.end() || old->second.problem != a.problem))
      std::fprintf(stderr, "ringgate: kv events: %s (%s:%u): %s\n", d.name.c_str(), d.host.c_str(), unsigned(d.port),
                   a.problem.c_str());
    next.emplace(std::make_pair(d.host, d.port), std::move(a));
  }
  if (next == annotations_) return;
  annotations_ = std::move(next);
  annotations_changed_ = true;
}

namespace {
// "tcp://host:port" with port + rank (vLLM's offset_endpoint_port for a data-parallel
// rank); anything else, or a port that would pass 65535, unchanged.
std::string offset_endpoint_port(const std::string& endpoint, int rank) {
  const size_t colon = endpoint.rfind(':');
  if (rank <= 0 || !endpoint.starts_with("tcp://") || colon == std::string::npos) return endpoint;
  int port = 0;
  const auto [end, ec] = std::from_chars(endpoint.data() + colon + 1, endpoint.data() + endpoint.size(), port);
  if (ec != std::errc() || end != endpoint.data() + endpoint.size() || port + rank > 65535) return endpoint;
  return endpoint.substr(0, colon + 1) + std::to_string(port + rank);
}
}  // namespace

// Each endpoint's event addresses: an explicit kvEvents.endpoints entry, else its host
// and the ports its pod's annotations name, else kvEvents.port (replayPort). An
// annotation names only ports: the host stays the endpoint's own. Only changes reach
// the subscriber.
void KvEventSources::update(const sched::EndpointSnapshot& snapshot) {
  std::vector<KvEventSource> sources;
  const config::KvEventsConfig& kv = kv_;
  annotations_changed_ = false;
  annotation_problems_.clear();
  for (const sched::EndpointState& e : snapshot.endpoints()) {
    KvEventSource src;
    src.id = e.id;
    auto it = std::find_if(kv.endpoints.begin(), kv.endpoints.end(), [&](const config::KvEventsEndpoint& x) {
      return x.endpoint.host == e.address.host && x.endpoint.port == e.address.port;
    });
    auto annotation = annotations_.find({e.address.host, e.address.port});
    if (annotation != annotations_.end() && !annotation->second.problem.empty())
      annotation_problems_[e.id] = annotation->second.problem;
    const bool v6 = e.address.host.find(':') != std::string::npos;
    const std::string host = v6 ? "[" + e.address.host + "]" : e.address.host;
    if (it != kv.endpoints.end()) {
      // The entry names the server's publisher; a rank behind its one port publishes on
      // that port + rank, as vLLM's ZmqEventPublisher.offset_endpoint_port.
      const int offset = e.dp.header ? e.dp.rank : 0;
      src.address = offset_endpoint_port(it->address, offset);
      src.replay_address = it->replay.empty() ? std::string() : offset_endpoint_port(it->replay, offset);
    } else {
      int port = kv.port, replay_port = kv.replay_port;
      if (annotation != annotations_.end()) {
        if (annotation->second.port) port = annotation->second.port;
        if (annotation->second.replay_port) replay_port = annotation->second.replay_port;
      }
      // vLLM's data-parallel rank R publishes on the configured port + R (and replays on
      // its replay port + R): ZmqEventPublisher.offset_endpoint_port.
      if (e.dp.rank > 0) {
        port = std::min(port + e.dp.rank, 65535);
        if (replay_port) replay_port = std::min(replay_port + e.dp.rank, 65535);
      }
      src.address = "tcp://" + host + ":" + std::to_string(port);
      if (replay_port) src.replay_address = "tcp://" + host + ":" + std::to_string(replay_port);
    }
    sources.push_back(std::move(src));
  }
  if (sources == sources_) return;
  sources_ = sources;
  subscriber_.set_sources(std::move(sources));
}

const KvEventSource* KvEventSources::source(sched::EndpointId id) const {
  auto it = std::find_if(sources_.begin(), sources_.end(), [&](const KvEventSource& k) { return k.id == id; });
  return it != sources_.end() ? &*it : nullptr;
}

std::string_view KvEventSources::annotation_problem(sched::EndpointId id) const {
  auto it = annotation_problems_.find(id);
  return it != annotation_problems_.end() ? std::string_view(it->second) : std::string_view();
}

}  // namespace ringgate::control
