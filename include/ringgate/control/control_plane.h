#pragma once
// The control thread: owns the endpoint pool (discovery input, /metrics and
// /v1/models polling, routability), publishes endpoint snapshots to the workers,
// keeps the shared prefix index bounded and purged, and serves the admin
// listener (/metrics, /healthz, /readyz, /debug/endpoints). Workers only read
// what it publishes (snapshots) and share the parts it owns: the in-flight counters
// (lock-free) and the prefix index (sharded mutexes, one held per probe); nothing
// here runs on the request path.
#include <array>
#include <map>
#include <unordered_map>
#include <utility>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ringgate/control/access_log_writer.h"
#include "ringgate/control/admin_server.h"
#include "ringgate/control/dry_run_picker.h"
#include "ringgate/control/endpoint_pool.h"
#include "ringgate/control/epoll_loop.h"
#include "ringgate/control/event_log.h"
#include "ringgate/config/gateway_config.h"
#include "ringgate/control/gateway_metrics.h"
#include "ringgate/control/kv_event_subscriber.h"
#include "ringgate/control/latency_learner.h"
#include "ringgate/control/loop_watch.h"
#include "ringgate/control/otlp_exporter.h"
#include "ringgate/control/wake_hook.h"
#include "ringgate/control/shared_state.h"
#include "ringgate/metrics/gateway_stats.h"
#include "ringgate/proxy/api_key_table.h"
#include "ringgate/proxy/model_catalog.h"
#include "ringgate/proxy/passive_health.h"
#include "ringgate/proxy/worker_counters.h"
#include "ringgate/sched/endpoint_registry.h"
#include "ringgate/sched/exact_block_index.h"
#include "ringgate/sched/inflight_counters.h"
#include "ringgate/sched/prefix_index.h"
#include "ringgate/proxy/response_table.h"
#include "ringgate/sched/scheduler_config.h"
#include "ringgate/sched/snapshot_publisher.h"
#include "ringgate/control/flow_metrics.h"

namespace ringgate::control {

struct ControlPlaneOptions {
  std::string pool_name = "vllm";
  proxy::ResponseTableLimits responses;  // which server holds each Responses API response
  PoolOptions pool;
  sched::SchedulerConfig scheduler;
  proxy::PassiveHealthOptions health;  // passive ejection (config `health`)
  size_t workers = 1;
  int admin_listen_fd = -1;  // bound and listening; owned from here on
  BuildInfo build;
  MetricNames metric_names = MetricNames::Both;  // which EPP name sets /metrics carries
  std::string pool_namespace;  // Kubernetes namespace of the pool's pods; empty for static endpoints
  // Structured access log: the opened writer (null = off). The workers' rings must be
  // enabled (ProxyOptions::access_log) for it to get records.
  std::shared_ptr<AccessLogWriter> access_log;
  // OpenTelemetry traces: where the workers' spans go (unset = tracing off). The workers'
  // span rings must be enabled (ProxyOptions::tracing) for it to get spans.
  std::optional<OtlpExporterOptions> tracing;
  // scaleFromZero.wakeUrl: where the wake hook POSTs while requests wait for a model (unset: no hook).
  std::optional<WakeHookOptions> wake_hook;
  // The workers' shared rate limiter (/debug/flow shows its table; sharedState shares
  // its budgets); null = none.
  proxy::RateLimiter* limiter = nullptr;
  // Where the pool's KV-cache events are (followed when scheduler.precise_prefix).
  config::KvEventsConfig kv_events;
  // Precise mode's model tokenizer (null: sim-bytes): its outcomes go to /metrics.
  std::shared_ptr<const openai::HfPromptTokenizer> prompt_tokenizer;
  // The data path's request-body cap: POST /debug/pick takes bodies up to it.
  size_t admin_max_body_bytes = 16384;
  // sharedState / --redis: replicas share their load through Redis (off: redis_host empty).
  SharedStateOptions shared_state;
};

class ControlPlane {
 public:
  explicit ControlPlane(ControlPlaneOptions options);
  ~ControlPlane();  // stops the thread
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // Shared with the workers (stable for the ControlPlane's life).
  sched::SnapshotPublisher& publisher() { return publisher_; }
  sched::PrefixIndex& prefix_index() { return index_; }
  proxy::ResponseTable& responses() { return responses_; }
  // Precise prefix mode's KV-event block index (null when not in precise mode).
  const sched::ExactBlockIndex* exact_index() const { return subscriber_ ? &exact_ : nullptr; }
  sched::InflightCounters& inflight() { return inflight_; }
  // The latency model's sample rings, one per worker slot (RouterShared::latency_rings).
  sched::LatencySampleRing* latency_rings() { return latency_.rings(); }
  size_t latency_ring_count() const { return latency_.ring_count(); }
  // The placement rings, one per worker slot, while replicas share state (null: none).
  sched::PlacementRing* placement_rings() { return shared_ ? shared_->placement_rings() : nullptr; }
  size_t placement_ring_count() const { return shared_ ? shared_->placement_ring_count() : 0; }
  // The response-id rings, one per worker slot, while replicas share state (null: none).
  proxy::ResponseRing* response_rings() { return shared_ ? shared_->response_rings() : nullptr; }
  size_t response_ring_count() const { return shared_ ? shared_->response_ring_count() : 0; }
  // Announces the ids the other replicas teach to the workers' waiting requests (null: alone).
  proxy::ResponseArrivals* response_arrivals() { return shared_ ? shared_->response_arrivals() : nullptr; }
  proxy::PassiveHealth& passive_health() { return health_; }
  const sched::SchedulerConfig& scheduler_config() const { return options_.scheduler; }

  // Before start(): where worker `slot` keeps its statistics and counters.
  void attach_worker(size_t slot, const metrics::WorkerStats* stats, const proxy::WorkerCounters* counters);
  // Before start(): the catalog GET /v1/models answers from; kept equal to the
  // models the pool serves plus `aliases` (set_aliases() changes them on reload).
  void attach_catalog(proxy::CatalogPublisher* catalog) { catalog_ = catalog; }
  void set_aliases(std::vector<std::string> aliases);
  // The saturation detector's settings the workers use now (the loaded rules: a reload
  // that changes the thresholds changes what /metrics and /debug/flow report too).
  void set_saturation(const sched::SaturationConfig& saturation);
  // Before start(): serve POST /debug/pick (a dry-run decision) with a router built
  // on `router` as the workers' are, reading the rules from `rules` slot `rules_slot`
  // (one no worker uses). `rules` must outlive this ControlPlane.
  void enable_dry_run(const proxy::RouterShared& router, const proxy::RulesPublisher* rules, size_t rules_slot);

  // Any thread: the pool's new membership (static list, demo servers, or a
  // discovery update). `synced` = discovery has seen the full list at least once.
  void set_endpoints(std::vector<DesiredEndpoint> endpoints, bool synced = true);

  void start();
  // /readyz answers 503 from now on (SIGTERM: let load balancers move away).
  void begin_drain() {
    if (!draining_.exchange(true)) events_.record(EventKind::Draining, {}, "SIGTERM: /readyz answers 503");
  }
  // Draining, or a SIGTERM/SIGINT already sent but not yet taken by the main thread:
  // "/readyz 503 at once" must not depend on when that thread is scheduled.
  bool draining() const;
  // A config reload was applied (true) or rejected (false): ringgate_config_reload*_total,
  // and an event for the status page (`detail`: the file, or its first error).
  void count_reload(bool applied, std::string_view detail = {}) {
    (applied ? reloads_ok_ : reloads_failed_).fetch_add(1, std::memory_order_relaxed);
    events_.record(applied ? EventKind::Reloaded : EventKind::ReloadRejected, {}, detail);
  }
  // The API listener's TLS (main thread): set at start, then after each certificate
  // reload, applied or not (the certificate served stays the last good one).
  void set_tls_status(TlsStatus status) {
    std::lock_guard lock(tls_mutex_);
    tls_ = std::move(status);
  }
  // API keys (main thread): set at start, then after each reload of the keys file.
  void set_auth_status(AuthStatus status) {
    std::lock_guard lock(tls_mutex_);
    auth_ = status;
  }
  // Before start(), with admin.auth: every admin request but /healthz and /readyz needs a
  // key of `keys` marked admin (read through reader slot `slot`, one no worker uses).
  void require_admin_key(const proxy::ApiKeysPublisher* keys, size_t slot);
  // Any thread: a Kubernetes object of kube_object_kinds[kind] was rejected as malformed.
  void count_kube_rejected(size_t kind) {
    if (kind < kube_rejected_.size()) kube_rejected_[kind].fetch_add(1, std::memory_order_relaxed);
  }
  void stop();

  // Why the trace exporter could not start (its collector's host did not resolve); empty: fine.
  std::string tracing_error() const { return exporter_ && !exporter_->ok() ? exporter_->error() : std::string(); }
  // Why the wake hook could not start (its host did not resolve); empty: fine.
  std::string wake_hook_error() const { return wake_hook_ && !wake_hook_->ok() ? wake_hook_->error() : std::string(); }

  bool ready() const { return ready_.load(std::memory_order_relaxed); }
  // True once every endpoint of the current membership has been probed once.
  bool probed() const { return probed_.load(std::memory_order_relaxed); }
  // Routable endpoints in the newest snapshot (any thread).
  size_t routable_endpoints() const { return routable_.load(std::memory_order_relaxed); }

 private:
  void run();
  void apply_pending_endpoints();
  void purge_removed();
  void publish_if_changed();
  void note_kv_annotations(const std::vector<DesiredEndpoint>& members);
  void update_kv_sources(const sched::EndpointSnapshot& snapshot);
  void append_kv_event_metrics(std::string& out) const;
  void publish_catalog(const sched::EndpointSnapshot& snapshot);
  void note_endpoint_events(const sched::EndpointSnapshot* previous, const sched::EndpointSnapshot& next);
  void note_passive_health();
  void install_routes();
  void flush_access_log();
  AdminResponse render_metrics();
  AdminResponse render_debug_endpoints();
  AdminResponse render_debug_flow();
  FlowView flow_view();

  ControlPlaneOptions options_;
  EpollLoop loop_;
  sched::EndpointRegistry registry_;
  sched::SnapshotPublisher publisher_;
  sched::PrefixIndex index_;
  proxy::ResponseTable responses_;
  sched::ExactBlockIndex exact_;
  std::unique_ptr<KvEventSubscriber> subscriber_;  // precise mode only
  std::unique_ptr<OtlpExporter> exporter_;         // tracing on only
  std::unique_ptr<WakeHook> wake_hook_;            // scaleFromZero.wakeUrl set only
  std::vector<KvEventSource> kv_sources_;          // control thread: what the subscriber follows
  // Control thread: the pods' kv-events.ringgate.io annotations by (host, port), only
  // where one is set or was refused; refusals shown per id in /debug/endpoints.
  struct KvAnnotation {
    uint16_t port = 0;
    uint16_t replay_port = 0;
    std::string problem;
    bool operator==(const KvAnnotation&) const = default;
  };
  std::map<std::pair<std::string, uint16_t>, KvAnnotation> kv_annotations_;
  bool kv_annotations_changed_ = false;
  std::unordered_map<sched::EndpointId, std::string> kv_annotation_problems_;
  sched::InflightCounters inflight_;
  // The latency model (issue 35): drained every turn, its coefficients in every snapshot.
  LatencyLearner latency_;
  bool latency_learnt_ = false;              // learnt since the last snapshot
  Clock::time_point next_latency_publish_{};  // new coefficients alone publish at most this often
  proxy::PassiveHealth health_;
  // Control thread: which ids were routable in the last snapshot. An endpoint that
  // becomes routable (joined, or answered polls again) starts with a clean passive record.
  std::vector<uint8_t> routable_by_id_;
  EndpointPool pool_;
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<SharedState> shared_;  // sharedState configured
  std::vector<const metrics::WorkerStats*> worker_stats_;
  std::vector<const proxy::WorkerCounters*> worker_counters_;
  proxy::CatalogPublisher* catalog_ = nullptr;
  std::vector<std::string> aliases_;       // guarded by pending_mutex_
  sched::SaturationConfig saturation_;      // guarded by pending_mutex_
  bool aliases_changed_ = false;           // guarded by pending_mutex_
  std::vector<std::string> catalog_names_, catalog_known_; // control thread: last published
  ControlCounters counters_;
  Clock::time_point next_access_flush_{};
  EventLog events_;                      // /debug/events (any thread records)
  // Control thread: each endpoint id as the last snapshot had it, for note_endpoint_events().
  static constexpr uint8_t kAbsent = 0, kUnroutable = 1, kRoutable = 2;
  std::vector<uint8_t> member_state_;
  size_t members_ = 0;  // endpoints in the last snapshot
  // Control thread: what note_passive_health() saw last, per endpoint id.
  struct PassiveSeen {
    uint64_t ejections = 0;
    bool out = false;  // ejected or half-open
  };
  std::vector<PassiveSeen> passive_seen_;
  uint64_t passive_ejections_seen_ = 0;
  bool passive_any_out_ = false;
  LoopWatch loop_watch_;                 // control thread: /healthz
  std::vector<uint64_t> loop_ticks_;     // control thread: scratch for it

  std::mutex pending_mutex_;
  std::optional<std::vector<DesiredEndpoint>> pending_;
  bool pending_synced_ = false;  // pending_ is a whole, synced membership
  // Set when a synced membership has been applied to the pool, not when it arrived: an
  // empty pool that looked synced would count as probed and ready to serve.
  bool synced_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<bool> draining_{false};
  std::atomic<bool> ready_{false};
  std::atomic<bool> probed_{false};
  std::atomic<uint64_t> reloads_ok_{0}, reloads_failed_{0};
  mutable std::mutex tls_mutex_;  // tls_ and auth_
  TlsStatus tls_;
  AuthStatus auth_;
  proxy::ApiKeysPublisher::Reader admin_keys_;  // control thread only
  std::atomic<uint64_t> admin_auth_rejections_{0};
  std::array<std::atomic<uint64_t>, 4> kube_rejected_{};
  std::atomic<size_t> routable_{0};
  std::thread thread_;
  // The control thread's own reader slot (slot `workers`), for rendering admin pages.
  sched::SnapshotPublisher::Reader reader_;
  // POST /debug/pick (control thread; its router reads snapshot slot `workers + 1`).
  std::unique_ptr<DryRunPicker> dry_run_;
  struct WakeHandler final : EpollHandler {
    int fd = -1;
    bool woken = false;  // this turn (a worker's ring half full, or a setting changed)
    void on_event(uint32_t) override;
  } wake_;
};

}  // namespace ringgate::control
