#pragma once
// The control thread, in three rooms: the control loop (control_loop.h: the endpoint
// pool, the snapshots it publishes to the workers, and the tables they share), the admin
// pages (admin_views.h: /metrics, /debug/*, the status page), and the shared streams
// (shared_stream.h, inside the loop's SharedState). This class starts and stops the
// thread, runs each turn, drains the workers' span and access-log rings, and takes what
// other threads report (membership, reloads, TLS, keys, draining). Workers only read
// what it publishes (snapshots) and share the tables the loop owns; nothing here runs on
// the request path.
#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ringgate/control/admin_views.h"
#include "ringgate/control/control_loop.h"
#include "ringgate/control/control_plane_options.h"
#include "ringgate/control/control_status.h"
#include "ringgate/control/epoll_loop.h"
#include "ringgate/control/event_log.h"
#include "ringgate/control/loop_watch.h"
#include "ringgate/control/otlp_exporter.h"
#include "ringgate/control/wake_hook.h"
#include "ringgate/metrics/gateway_stats.h"
#include "ringgate/proxy/api_key_table.h"
#include "ringgate/proxy/model_catalog.h"
#include "ringgate/proxy/worker_counters.h"

namespace ringgate::control {

class ControlPlane {
 public:
  explicit ControlPlane(ControlPlaneOptions options);
  ~ControlPlane();  // stops the thread
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // Before the workers start: the tables they share (stable for the ControlPlane's life).
  void share(proxy::RouterShared& router) { loop_.share(router); }
  // Any thread (a config reload): responses.maxEntries / maxBytes.
  void set_response_limits(proxy::ResponseTableLimits limits) { loop_.responses().set_limits(limits); }

  // Before start(): where worker `slot` keeps its statistics and counters.
  void attach_worker(size_t slot, const metrics::WorkerStats* stats, const proxy::WorkerCounters* counters);
  // Before start(): the catalog GET /v1/models answers from; kept equal to the
  // models the pool serves plus `aliases` (set_aliases() changes them on reload).
  void attach_catalog(proxy::CatalogPublisher* catalog) { loop_.catalog().attach(catalog); }
  void set_aliases(std::vector<std::string> aliases);
  // The saturation detector's settings the workers use now (the loaded rules: a reload
  // that changes the thresholds changes what /metrics and /debug/flow report too).
  void set_saturation(const sched::SaturationConfig& saturation) { loop_.set_saturation(saturation); }
  // Before start(): POST /debug/pick (AdminViews::enable_dry_run).
  void enable_dry_run(const proxy::RouterShared& router, const proxy::RulesPublisher* rules, size_t rules_slot) {
    views_.enable_dry_run(router, rules, rules_slot);
  }
  // Before start(), with admin.auth (AdminViews::require_admin_key).
  void require_admin_key(const proxy::ApiKeysPublisher* keys, size_t slot) { views_.require_admin_key(keys, slot); }

  // Any thread: the pool's new membership (static list, demo servers, or a
  // discovery update). `synced` = discovery has seen the full list at least once.
  void set_endpoints(std::vector<DesiredEndpoint> endpoints, bool synced = true);

  void start();
  void stop();
  // /readyz answers 503 from now on (SIGTERM: let load balancers move away).
  void begin_drain() {
    if (status_.begin_drain()) events_.record(EventKind::Draining, {}, "SIGTERM: /readyz answers 503");
  }
  // Draining, or a SIGTERM/SIGINT already sent but not yet taken by the main thread.
  bool draining() const { return status_.draining(); }
  // A config reload was applied (true) or rejected (false): ringgate_config_reload*_total,
  // and an event for the status page (`detail`: the file, or its first error).
  void count_reload(bool applied, std::string_view detail = {}) {
    status_.count_reload(applied);
    events_.record(applied ? EventKind::Reloaded : EventKind::ReloadRejected, {}, detail);
  }
  // The API listener's TLS (main thread): set at start, then after each certificate reload.
  void set_tls_status(TlsStatus status) { status_.set_tls(std::move(status)); }
  // API keys (main thread): set at start, then after each reload of the keys file.
  void set_auth_status(AuthStatus status) { status_.set_auth(status); }
  // Any thread: a Kubernetes object of kube_object_kinds[kind] was rejected as malformed.
  void count_kube_rejected(size_t kind) { status_.count_kube_rejected(kind); }
  void count_resolve_failure() { status_.count_resolve_failure(); }

  // Why the trace exporter could not start (its collector's host did not resolve); empty: fine.
  std::string tracing_error() const { return exporter_ && !exporter_->ok() ? exporter_->error() : std::string(); }
  // Why the wake hook could not start (its host did not resolve); empty: fine.
  std::string wake_hook_error() const { return wake_hook_ && !wake_hook_->ok() ? wake_hook_->error() : std::string(); }

  bool ready() const { return loop_.ready(); }
  // True once every endpoint of the current membership has been probed once.
  bool probed() const { return loop_.probed(); }

 private:
  void run();
  void wake();

  ControlPlaneOptions options_;
  EpollLoop epoll_;
  EventLog events_;                         // /debug/events (any thread records)
  ControlStatus status_;                    // what other threads report
  ControlLoop loop_;                        // the pool, the snapshots, the tables
  std::unique_ptr<OtlpExporter> exporter_;  // tracing on only
  std::unique_ptr<WakeHook> wake_hook_;     // scaleFromZero.wakeUrl set only
  std::vector<const metrics::WorkerStats*> worker_stats_;
  std::vector<const proxy::WorkerCounters*> worker_counters_;
  Clock::time_point next_access_flush_{};
  LoopWatch loop_watch_;              // control thread: /healthz
  std::vector<uint64_t> loop_ticks_;  // control thread: scratch for it
  AdminViews views_;                  // after what its pages read: destroyed first
  std::atomic<bool> stop_{false};
  std::thread thread_;
  struct WakeHandler final : EpollHandler {
    int fd = -1;
    bool woken = false;  // this turn (a worker's ring half full, or a setting changed)
    void on_event(uint32_t) override;
  } wake_;
};

}  // namespace ringgate::control
