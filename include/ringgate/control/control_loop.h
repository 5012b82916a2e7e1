#pragma once
// The control thread's turn (ControlPlane runs it): owns the endpoint pool (discovery
// input, /metrics and /v1/models polling, routability), the snapshots it publishes to
// the workers, and the tables the workers share: the in-flight counters (lock-free), the
// prefix index (sharded mutexes, one held per probe), the Responses-id table, passive
// health, the latency model's rings, precise mode's KV-event index, and the shared
// state's rings. Keeps the prefix index bounded and purged, and the model catalog and the
// pool's events current. Workers only read what it publishes (snapshots) and share the
// tables it owns; nothing here runs on the request path. The admin pages read it
// (AdminViews), on the control thread.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "ringgate/control/catalog_feed.h"
#include "ringgate/control/control_plane_options.h"
#include "ringgate/control/endpoint_pool.h"
#include "ringgate/control/epoll_loop.h"
#include "ringgate/control/event_log.h"
#include "ringgate/control/kv_event_sources.h"
#include "ringgate/control/latency_learner.h"
#include "ringgate/control/pool_events.h"
#include "ringgate/control/shared_state.h"
#include "ringgate/proxy/passive_health.h"
#include "ringgate/proxy/request_router.h"
#include "ringgate/proxy/response_table.h"
#include "ringgate/sched/endpoint_registry.h"
#include "ringgate/sched/inflight_counters.h"
#include "ringgate/sched/prefix_index.h"
#include "ringgate/sched/snapshot_publisher.h"

namespace ringgate::control {

class ControlLoop {
 public:
  // `events`: where the pool's changes go. Both outlive it.
  ControlLoop(EpollLoop& loop, const ControlPlaneOptions& options, EventLog& events);
  ~ControlLoop();
  ControlLoop(const ControlLoop&) = delete;
  ControlLoop& operator=(const ControlLoop&) = delete;

  // Before the workers start: the tables they share (stable for the ControlLoop's life).
  void share(proxy::RouterShared& router);
  proxy::ResponseTable& responses() { return responses_; }
  CatalogFeed& catalog() { return catalog_; }
  const CatalogFeed& catalog() const { return catalog_; }

  // Any thread: the pool's new membership; `synced` = discovery has seen the full list
  // at least once. The control thread applies it at its next turn.
  void set_endpoints(std::vector<DesiredEndpoint> endpoints, bool synced);
  // Any thread: the saturation detector's settings the workers use now (the loaded rules).
  void set_saturation(const sched::SaturationConfig& saturation);
  sched::SaturationConfig saturation() const;
  bool ready() const { return ready_.load(std::memory_order_relaxed); }
  bool probed() const { return probed_.load(std::memory_order_relaxed); }
  size_t routable_endpoints() const { return routable_.load(std::memory_order_relaxed); }

  // Control thread: when the next poll is due (the turn's wait ends then at the latest).
  Clock::time_point next_due() const { return pool_.next_due(); }
  // Control thread, once a turn: membership, polls, shared state, the latency model, a
  // snapshot (and catalog) when something changed, passive health's events.
  void turn();

  // Control thread, for the admin pages.
  const sched::EndpointSnapshot* current() const { return reader_.current(); }
  const EndpointPool& pool() const { return pool_; }
  const sched::PrefixIndex& index() const { return index_; }
  const sched::InflightCounters& inflight() const { return inflight_; }
  const proxy::PassiveHealth& health() const { return health_; }
  const proxy::ResponseTable& responses() const { return responses_; }
  const LatencyLearner& latency() const { return latency_; }
  const KvEventSources* kv() const { return kv_.get(); }       // precise mode only
  const SharedState* shared() const { return shared_.get(); }  // sharedState configured only
  uint64_t snapshots_published() const { return snapshots_published_; }

 private:
  void apply_pending_endpoints();
  void purge_removed();
  void publish_if_changed();

  const ControlPlaneOptions& options_;
  sched::EndpointRegistry registry_;
  sched::SnapshotPublisher publisher_;
  // The control thread's own reader slot (slot `workers`), for rendering admin pages.
  sched::SnapshotPublisher::Reader reader_;
  sched::PrefixIndex index_;
  proxy::ResponseTable responses_;
  sched::InflightCounters inflight_;
  // The latency model (issue 35): drained every turn, its coefficients in every snapshot.
  LatencyLearner latency_;
  bool latency_learnt_ = false;               // learnt since the last snapshot
  Clock::time_point next_latency_publish_{};  // new coefficients alone publish at most this often
  proxy::PassiveHealth health_;
  // Which ids were routable in the last snapshot. An endpoint that becomes routable
  // (joined, or answered polls again) starts with a clean passive record.
  std::vector<uint8_t> routable_by_id_;
  EndpointPool pool_;
  std::unique_ptr<KvEventSources> kv_;   // precise mode only
  std::unique_ptr<SharedState> shared_;  // sharedState configured
  CatalogFeed catalog_;
  PoolEvents pool_events_;
  uint64_t snapshots_published_ = 0;

  mutable std::mutex pending_mutex_;
  std::optional<std::vector<DesiredEndpoint>> pending_;
  bool pending_synced_ = false;         // pending_ is a whole, synced membership
  sched::SaturationConfig saturation_;  // guarded by pending_mutex_
  // Set when a synced membership has been applied to the pool, not when it arrived: an
  // empty pool that looked synced would count as probed and ready to serve.
  bool synced_ = false;
  std::atomic<bool> ready_{false};
  std::atomic<bool> probed_{false};
  std::atomic<size_t> routable_{0};
};

}  // namespace ringgate::control
