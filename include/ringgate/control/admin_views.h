#pragma once
// The admin listener's pages (:9090): /healthz, /readyz, /metrics, /debug/endpoints,
// /debug/flow, /debug/shared, /debug/events, POST /debug/pick and the status page (/),
// behind the admin gate (admin.auth). Each page reads what the control thread owns
// (AdminSources) on the control thread, and is a function of its own
// (control/admin_pages.h): a new page is that function's file and its line in
// AdminViews' route table (admin_views.cpp).
#include <cstddef>
#include <memory>
#include <vector>

#include "ringgate/control/admin_server.h"
#include "ringgate/control/control_loop.h"
#include "ringgate/control/control_plane_options.h"
#include "ringgate/control/control_status.h"
#include "ringgate/control/dry_run_picker.h"
#include "ringgate/control/epoll_loop.h"
#include "ringgate/control/event_log.h"
#include "ringgate/control/loop_watch.h"
#include "ringgate/control/otlp_exporter.h"
#include "ringgate/control/wake_hook.h"
#include "ringgate/metrics/gateway_stats.h"
#include "ringgate/proxy/api_key_table.h"
#include "ringgate/proxy/worker_counters.h"

namespace ringgate::control {

// What the pages read; all outlive the AdminViews.
struct AdminSources {
  const ControlPlaneOptions* options = nullptr;
  ControlLoop* loop = nullptr;
  ControlStatus* status = nullptr;
  EventLog* events = nullptr;
  const LoopWatch* loop_watch = nullptr;
  // Worker slot i's statistics and counters (null until attached).
  const std::vector<const metrics::WorkerStats*>* worker_stats = nullptr;
  const std::vector<const proxy::WorkerCounters*>* worker_counters = nullptr;
  const OtlpExporter* exporter = nullptr;  // tracing on only
  const WakeHook* wake_hook = nullptr;     // scaleFromZero.wakeUrl set only
};

class AdminViews {
 public:
  // Serves on options->admin_listen_fd (none when it is -1).
  AdminViews(EpollLoop& loop, AdminSources sources);
  ~AdminViews();
  AdminViews(const AdminViews&) = delete;
  AdminViews& operator=(const AdminViews&) = delete;

  // Before the control thread starts: POST /debug/pick, a dry-run decision with a router
  // built on `router` as the workers' are, reading the rules from `rules` slot
  // `rules_slot` (one no worker uses). `rules` must outlive this.
  void enable_dry_run(const proxy::RouterShared& router, const proxy::RulesPublisher* rules, size_t rules_slot);
  // Before the control thread starts, with admin.auth: every request but /healthz and
  // /readyz needs a key of `keys` marked admin (read through reader slot `slot`).
  void require_admin_key(const proxy::ApiKeysPublisher* keys, size_t slot);
  // Control thread, every turn: connections that finished or timed out.
  void reap();

 private:
  void install_routes();

  AdminSources sources_;
  std::unique_ptr<AdminServer> server_;         // null: no admin listener
  proxy::ApiKeysPublisher::Reader admin_keys_;  // control thread only
  // POST /debug/pick (control thread; its router reads snapshot slot `workers + 1`).
  std::unique_ptr<DryRunPicker> dry_run_;
};

}  // namespace ringgate::control
