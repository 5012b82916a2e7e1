#include "ringgate/control/control_plane.h"

#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <unordered_set>

#include "ringgate/control/kv_event_metrics.h"
#include "ringgate/control/response_table_metrics.h"
#include "ringgate/control/status_page.h"
#include "ringgate/net/io_backend.h"
#include "ringgate/sched/endpoint_report.h"
#include "ringgate/util/json_text.h"
#include "ringgate/util/monotonic_clock.h"

namespace ringgate::control {

void ControlPlane::WakeHandler::on_event(uint32_t) {
  woken = true;
  uint64_t n;
  while (read(fd, &n, sizeof n) > 0) {
  }
}

ControlPlane::ControlPlane(ControlPlaneOptions options)
    : options_(std::move(options)),
      publisher_(options_.workers + 2),  // the workers, the admin pages, the dry-run router
      index_(size_t(1) << 16, size_t(1) << 16, options_.scheduler.prefix_index_bytes),
      responses_(options_.responses),
      exact_(size_t(options_.kv_events.max_blocks_per_endpoint), size_t(1) << 16, options_.scheduler.tier_weights),
      latency_(options_.workers + 2),  // the workers' slots, and the admin and dry-run ones (never written)
      health_(options_.health),
      pool_(loop_, registry_, options_.pool),
      worker_stats_(options_.workers, nullptr),
      worker_counters_(options_.workers, nullptr) {
  reader_ = publisher_.reader(options_.workers);
  saturation_ = options_.scheduler.saturation;  // until the first rules are set
  // A released id goes to a new address only once no request is in flight to the old one.
  registry_.set_reuse_check([this](sched::EndpointId id) { return inflight_.get(id) == 0; });
  wake_.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  loop_.add(wake_.fd, EPOLLIN, &wake_);
  if (options_.shared_state.enabled())
    shared_ = std::make_unique<SharedState>(loop_, options_.shared_state, options_.pool_name, options_.limiter, index_,
                                            responses_, options_.workers);
  if (options_.admin_listen_fd >= 0) {
    AdminLimits limits;
    limits.max_body_bytes = std::max(limits.max_body_bytes, options_.admin_max_body_bytes);
    admin_ = std::make_unique<AdminServer>(loop_, options_.admin_listen_fd, limits);
    install_routes();
  }
  if (options_.tracing) exporter_ = std::make_unique<OtlpExporter>(loop_, *options_.tracing);
  if (options_.wake_hook) wake_hook_ = std::make_unique<WakeHook>(loop_, *options_.wake_hook);
  if (options_.scheduler.precise_prefix)
    subscriber_ = std::make_unique<KvEventSubscriber>(exact_, kvevents::KvEventLimits{}, options_.kv_events.topic);
  // Workers may start before the first membership arrives: give them an empty pool.
  publisher_.publish(std::make_unique<sched::EndpointSnapshot>(std::vector<sched::EndpointState>{}));
}

ControlPlane::~ControlPlane() {
  stop();
  dry_run_.reset();
  reader_.release();
  loop_.remove(wake_.fd);
  close(wake_.fd);
}

void ControlPlane::attach_worker(size_t slot, const metrics::WorkerStats* stats,
                                 const proxy::WorkerCounters* counters) {
  if (slot >= worker_stats_.size()) return;
  worker_stats_[slot] = stats;
  worker_counters_[slot] = counters;
  // Traced or logged at a high rate, a worker's rings fill between two turns (the access
  // log's is drained every 100 ms): half full, they wake this thread, which drains them.
  if (stats && exporter_) stats->spans.wake_when_half_full(wake_.fd);
  if (stats && options_.access_log) stats->access_log.wake_when_half_full(wake_.fd);
}

void ControlPlane::enable_dry_run(const proxy::RouterShared& router, const proxy::RulesPublisher* rules,
                                  size_t rules_slot) {
  if (!admin_) return;
  dry_run_ = std::make_unique<DryRunPicker>(router, options_.workers + 1, rules, rules_slot);
  admin_->route_post("/debug/pick", [this](const http::Request& request, std::string_view query) {
    return dry_run_->pick(request, query);
  });
}

void ControlPlane::set_saturation(const sched::SaturationConfig& saturation) {
  std::lock_guard lock(pending_mutex_);
  saturation_ = saturation;
}

void ControlPlane::set_aliases(std::vector<std::string> aliases) {
  {
    std::lock_guard lock(pending_mutex_);
    aliases_ = std::move(aliases);
    aliases_changed_ = true;
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_.fd, &one, sizeof one);
}

void ControlPlane::set_endpoints(std::vector<DesiredEndpoint> endpoints, bool synced) {
  {
    std::lock_guard lock(pending_mutex_);
    pending_ = std::move(endpoints);
    if (synced) pending_synced_ = true;
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_.fd, &one, sizeof one);
}

void ControlPlane::start() { thread_ = std::thread([this] { run(); }); }

void ControlPlane::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_.fd, &one, sizeof one);
  thread_.join();
}

void ControlPlane::run() {
  pthread_setname_np(pthread_self(), "rg-control");  // top -H, /proc/PID/task/*/comm (perf/ui)
  while (!stop_.load(std::memory_order_relaxed)) {
    // 10 ms turns at most: polls are due every poll_interval (default 50 ms) and their
    // deadlines need checking; a wake-up costs nothing next to a scrape. Sooner when a
    // poll is due sooner: scrapes start at their wall-clock instants (EndpointPool::tick),
    // not up to a turn late, so replicas read the servers at the same moment.
    int timeout_ms = 10;
    const Clock::time_point due = pool_.next_due(), now = Clock::now();
    if (due <= now)
      timeout_ms = 0;
    else if (due - now < std::chrono::milliseconds(10))
      timeout_ms = int((std::chrono::duration_cast<std::chrono::microseconds>(due - now).count() + 999) / 1000);
    loop_.run_once(timeout_ms);
    apply_pending_endpoints();
    pool_.tick(Clock::now());
    if (shared_) {
      shared_->tick(Clock::now(), reader_.current(), inflight_);
      if (shared_->take_changed())
        pool_.set_remote_load(shared_->remote_load(), shared_->replicas(), shared_->index_shared());
    }
    // What the workers' answers taught the latency model goes out with the next snapshot;
    // new coefficients alone publish one at most every 50 ms (a scrape publishes anyway).
    latency_learnt_ |= latency_.drain();
    if (latency_learnt_ && Clock::now() >= next_latency_publish_) {
      pool_.mark_changed();
      latency_learnt_ = false;
      next_latency_publish_ = Clock::now() + std::chrono::milliseconds(50);
    }
    publish_if_changed();
    note_passive_health();
    loop_ticks_.clear();
    for (const proxy::WorkerCounters* w : worker_counters_) loop_ticks_.push_back(w ? w->loop_ticks.get() : 0);
    loop_watch_.observe(loop_ticks_, Clock::now());
    if (admin_) admin_->reap();
    if (exporter_) exporter_->tick(worker_stats_, util::steady_ns());
    if (wake_hook_) wake_hook_->tick(worker_stats_, util::steady_ns());
    if (options_.access_log && (wake_.woken || Clock::now() >= next_access_flush_)) {
      next_access_flush_ = Clock::now() + std::chrono::milliseconds(100);
      flush_access_log();
    }
    wake_.woken = false;
  }
  // The workers have stopped (stop() comes after them): their last records.
  if (options_.access_log) flush_access_log();
}

void ControlPlane::flush_access_log() {
  options_.access_log->flush(worker_stats_);
}

void ControlPlane::apply_pending_endpoints() {
  std::optional<std::vector<DesiredEndpoint>> next;
  {
    std::lock_guard lock(pending_mutex_);
    next.swap(pending_);
    if (next && pending_synced_) synced_ = true;  // applied below, before this thread publishes
  }
  if (!next) return;
  if (subscriber_) note_kv_annotations(*next);
  pool_.set_members(*next);
  purge_removed();
}

// Endpoints that left (discovery), or ranks a server no longer serves (its /metrics).
void ControlPlane::purge_removed() {
  for (sched::EndpointId gone : pool_.take_removed()) {
    index_.purge(gone);
    latency_.reset(gone);  // its id's next holder is another server
  }
}

void ControlPlane::note_kv_annotations(const std::vector<DesiredEndpoint>& members) {
  decltype(kv_annotations_) next;
  for (const DesiredEndpoint& d : members) {
    if (!d.kv_events_port && !d.kv_events_replay_port && d.kv_events_problem.empty()) continue;
    KvAnnotation a{d.kv_events_port, d.kv_events_replay_port, d.kv_events_problem};
    auto old = kv_annotations_.find({d.host, d.port});
    // Once per change, not per membership update: a pod's bad annotation stays until edited.
    if (!a.problem.empty() && (old == kv_annotations_.end() || old->second.problem != a.problem))
      std::fprintf(stderr, "ringgate: kv events: %s (%s:%u): %s\n", d.name.c_str(), d.host.c_str(), unsigned(d.port),
                   a.problem.c_str());
    next.emplace(std::make_pair(d.host, d.port), std::move(a));
  }
  if (next == kv_annotations_) return;
  kv_annotations_ = std::move(next);
  kv_annotations_changed_ = true;
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
void ControlPlane::update_kv_sources(const sched::EndpointSnapshot& snapshot) {
  std::vector<KvEventSource> sources;
  const config::KvEventsConfig& kv = options_.kv_events;
  kv_annotations_changed_ = false;
  kv_annotation_problems_.clear();
  for (const sched::EndpointState& e : snapshot.endpoints()) {
    KvEventSource src;
    src.id = e.id;
    auto it = std::find_if(kv.endpoints.begin(), kv.endpoints.end(), [&](const config::KvEventsEndpoint& x) {
      return x.endpoint.host == e.address.host && x.endpoint.port == e.address.port;
    });
    auto annotation = kv_annotations_.find({e.address.host, e.address.port});
    if (annotation != kv_annotations_.end() && !annotation->second.problem.empty())
      kv_annotation_problems_[e.id] = annotation->second.problem;
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
      if (annotation != kv_annotations_.end()) {
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
  if (sources == kv_sources_) return;
  kv_sources_ = sources;
  subscriber_->set_sources(std::move(sources));
}

void ControlPlane::publish_if_changed() {
  const bool published = pool_.changed();
  if (published) {
    purge_removed();
    std::unique_ptr<sched::EndpointSnapshot> snapshot = pool_.build_snapshot(&latency_.model());
    note_endpoint_events(reader_.current(), *snapshot);  // this thread's slot still holds the last one
    size_t routable = 0;
    for (const sched::EndpointState& e : snapshot->endpoints()) {
      inflight_.ensure(e.id);  // before any worker can see the id
      latency_.ensure(e.id);
      health_.ensure(e.id);
      if (e.id >= routable_by_id_.size()) routable_by_id_.resize(size_t(e.id) + 1, 0);
      if (e.routable && !routable_by_id_[e.id]) health_.reset(e.id);
      // The index remembers twice what the server can cache: forgetting a prompt the
      // server still holds sends its next request elsewhere, a sure miss, while
      // remembering one it evicted costs nothing (every server would miss it).
      // perf/routing/compare.sh: 1x capacity 0.94 hit rate on workload A, 2x 0.973.
      if (e.num_gpu_blocks) index_.set_capacity(e.id, 2 * e.num_gpu_blocks);
      if (e.routable) ++routable;
    }
    std::fill(routable_by_id_.begin(), routable_by_id_.end(), 0);
    for (const sched::EndpointState& e : snapshot->endpoints()) routable_by_id_[e.id] = e.routable ? 1 : 0;
    if (subscriber_) update_kv_sources(*snapshot);
    // The catalog first: a worker adopts the snapshot, then the catalog (adopt_published_state),
    // so one that routes on this snapshot labels its models (a request on the first routable
    // snapshot was counted as model "other" when the catalog came a moment later).
    publish_catalog(*snapshot);
    publisher_.publish(std::move(snapshot));
    ++counters_.snapshots_published;
    routable_.store(routable, std::memory_order_relaxed);
    bool synced;
    {
      std::lock_guard lock(pending_mutex_);
      synced = synced_;
    }
    ready_.store(synced && routable > 0, std::memory_order_relaxed);
    probed_.store(synced && pool_.all_probed(), std::memory_order_relaxed);
  }
  const sched::EndpointSnapshot* current = reader_.refresh();
  // Annotations edited on pods whose membership did not change: a quiet pool (no new
  // scrape values either) publishes no snapshot to carry them.
  if (subscriber_ && kv_annotations_changed_ && current) update_kv_sources(*current);
  bool aliases_changed;
  {
    std::lock_guard lock(pending_mutex_);
    aliases_changed = aliases_changed_;
  }
  if (current && aliases_changed && !published) publish_catalog(*current);
  publisher_.reclaim();
}

namespace {
std::string unroutable_reason(const EndpointHealth* h) {
  if (!h) return {};
  if (h->terminating) return "terminating in discovery (draining: no new requests)";
  if (!h->discovered_ready) return "not ready in discovery";
  if (h->failed_scrapes) return std::to_string(h->failed_scrapes) + " failed polls: " + h->last_error;
  if (!h->has_models) return "serves no model";
  return {};
}
}  // namespace

// Endpoints that joined, left, or became routable or not since the last snapshot. Linear in
// the pool with one allocation: this runs on every publish (each scrape that moved a number);
// texts are made only for an event.
void ControlPlane::note_endpoint_events(const sched::EndpointSnapshot* previous,
                                        const sched::EndpointSnapshot& next) {
  std::vector<uint8_t> state(member_state_.size(), kAbsent);
  size_t stayed = 0;
  for (const sched::EndpointState& e : next.endpoints()) {
    if (e.id >= state.size()) state.resize(size_t(e.id) + 1, kAbsent);
    state[e.id] = e.routable ? kRoutable : kUnroutable;
    const uint8_t was = e.id < member_state_.size() ? member_state_[e.id] : kAbsent;
    if (was != kAbsent) ++stayed;
    if (was == state[e.id]) continue;
    const std::string address = e.address.text();
    if (was == kAbsent) {
      const std::string_view name = pool_.name(e.id);
      events_.record(EventKind::Joined, address, name.empty() || name == address ? std::string("joined the pool")
                                                                                 : "pod " + std::string(name));
      if (e.id < passive_seen_.size()) passive_seen_[e.id] = {};
    }
    if (e.routable)
      events_.record(EventKind::Routable, address, "answers its polls");
    else if (was != kAbsent)
      events_.record(EventKind::Unroutable, address, unroutable_reason(pool_.health(e.id)));
  }
  if (stayed < members_ && previous) {
    for (const sched::EndpointState& e : previous->endpoints())
      if (e.id >= state.size() || state[e.id] == kAbsent)
        events_.record(EventKind::Left, e.address.text(), "no longer in the pool");
  }
  member_state_.swap(state);
  members_ = next.endpoints().size();
}

// Passive health is the workers' (atomics): looked at only while an ejection is new or
// running, so a healthy pool costs two loads a turn.
void ControlPlane::note_passive_health() {
  const uint64_t total = health_.ejections_total();
  if (total == passive_ejections_seen_ && health_.ejected_count() == 0 && !passive_any_out_) return;
  passive_ejections_seen_ = total;
  passive_any_out_ = false;
  const sched::EndpointSnapshot* snapshot = reader_.current();
  if (!snapshot) return;
  const uint64_t now_ms = proxy::PassiveHealth::now_ms();
  for (const sched::EndpointState& e : snapshot->endpoints()) {
    const proxy::PassiveHealthView v = health_.view(e.id, now_ms);
    if (e.id >= passive_seen_.size()) passive_seen_.resize(size_t(e.id) + 1);
    PassiveSeen& seen = passive_seen_[e.id];
    const bool out = v.ejected || v.half_open;
    if (out && v.ejections != seen.ejections)
      events_.record(EventKind::Ejected, e.address.text(),
                     std::to_string(v.consecutive_failures) + " failed requests in a row; out for " +
                         std::to_string(v.ejected_for_ms) + " ms");
    else if (seen.out && !out)
      events_.record(EventKind::Readmitted, e.address.text(),
                     "back in rotation (its trial request succeeded, or its polls answered again)");
    seen = {v.ejections, out};
    passive_any_out_ |= out;
  }
}

void ControlPlane::publish_catalog(const sched::EndpointSnapshot& snapshot) {
  if (!catalog_) return;
  std::vector<std::string> names;
  {
    std::lock_guard lock(pending_mutex_);
    names = aliases_;
    aliases_changed_ = false;
  }
  // Models the routable endpoints serve (an alias first: it is what clients ask for);
  // the models of the others may still be statistics labels (a restarting pod's model).
  std::vector<std::string> known;
  for (const sched::EndpointState& e : snapshot.endpoints()) {
    std::vector<std::string>& into = e.routable ? names : known;
    for (const std::string& m : e.models) into.push_back(m);
    for (const std::string& a : e.lora_adapters) into.push_back(a);
  }
  if (names == catalog_names_ && known == catalog_known_) return;
  catalog_names_ = names;
  catalog_known_ = known;
  catalog_->publish(std::make_unique<proxy::ModelCatalog>(std::move(names), std::move(known)));  // deduplicates
}

bool ControlPlane::draining() const {
  if (draining_.load()) return true;
  // Every thread blocks these signals (the main thread takes them through a signalfd), so a
  // delivered one stays pending for the process until that thread reads it.
  sigset_t pending;
  if (sigpending(&pending) != 0) return false;
  return sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1;
}

void ControlPlane::require_admin_key(const proxy::ApiKeysPublisher* keys, size_t slot) {
  admin_keys_ = keys->reader(slot);
  admin_->set_gate([this](const http::Request& request, std::string_view path) -> std::optional<AdminResponse> {
    if (path == "/healthz" || path == "/readyz") return std::nullopt;  // the kubelet's probes carry no key
    const proxy::ApiKeyTable* table = admin_keys_.refresh();
    const std::string_view presented = proxy::presented_api_key(request);
    const proxy::ApiKey* key = table != nullptr ? table->find(presented) : nullptr;
    if (key != nullptr && key->admin) return std::nullopt;
    admin_auth_rejections_.fetch_add(1, std::memory_order_relaxed);
    if (key != nullptr) return AdminResponse{403, "text/plain; charset=utf-8", "this API key is not an admin key\n"};
    return AdminResponse{401, "text/plain; charset=utf-8",
                         presented.empty() ? "an admin API key is required: Authorization: Bearer KEY\n"
                                           : "the API key is not valid\n",
                         "www-authenticate: Bearer realm=\"ringgate-admin\"\r\n"};
  });
}

void ControlPlane::install_routes() {
  admin_->route("/healthz", [this] {
    // This answer comes from the control loop, so it turns; the workers' loops must too
    // (a worker that stopped while draining is expected).
    if (!draining_.load()) {
      if (const auto stall = loop_watch_.stalled(Clock::now())) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(stall->for_how_long).count();
        return AdminResponse{503, "text/plain; charset=utf-8",
                             "worker " + std::to_string(stall->worker) + " has not turned for " + std::to_string(ms) + " ms\n"};
      }
    }
    return AdminResponse{200, "text/plain; charset=utf-8", "ok\n"};
  });
  admin_->route("/readyz", [this] {
    if (draining()) return AdminResponse{503, "text/plain; charset=utf-8", "draining\n"};
    if (!ready()) return AdminResponse{503, "text/plain; charset=utf-8", "no routable endpoint\n"};
    return AdminResponse{200, "text/plain; charset=utf-8", "ready\n"};
  });
  admin_->route("/metrics", [this] { return render_metrics(); });
  admin_->route("/debug/endpoints", [this] { return render_debug_endpoints(); });
  admin_->route("/debug/flow", [this] { return render_debug_flow(); });
  admin_->route("/debug/shared", [this] {
    if (!shared_) return AdminResponse{200, "application/json", "{\"state\":\"off\"}\n"};
    return shared_->render_debug(reader_.current());
  });
  admin_->route_query("/debug/events", [this](std::string_view query) { return events_.render(query); });
  admin_->route("/", [] { return status_page(); });
}

FlowView ControlPlane::flow_view() {
  FlowView view;
  view.pool_name = options_.pool_name;
  view.snapshot = reader_.current();
  view.inflight = &inflight_;
  {
    std::lock_guard lock(pending_mutex_);
    view.saturation = saturation_;
  }
  view.now = Clock::now();
  view.limiter = options_.limiter;
  return view;
}

AdminResponse ControlPlane::render_debug_flow() {
  std::vector<const metrics::WorkerStats*> workers;
  for (const metrics::WorkerStats* w : worker_stats_)
    if (w) workers.push_back(w);
  return {200, "application/json", control::render_debug_flow(flow_view(), workers)};
}

AdminResponse ControlPlane::render_metrics() {
  PoolView view;
  view.pool_name = options_.pool_name;
  view.snapshot = reader_.current();
  view.now = Clock::now();
  // Pool averages use their own 2 s window (PoolView's default, as the issue asks), not the
  // scheduler's: scoring may distrust a 500 ms old number that a dashboard still should show.
  view.endpoints_known = pool_.size();
  view.pod_name = [this](sched::EndpointId id) { return pool_.name(id); };
  view.scorer_weights = options_.scheduler.weights;
  // Label values only for models the pool serves (any endpoint, routable or not, so a
  // restarting pod's model keeps its series) and the rewrite aliases: every other name
  // a client sent is counted as model_name="other".
  std::unordered_set<std::string> served;
  {
    std::lock_guard lock(pending_mutex_);
    served.insert(aliases_.begin(), aliases_.end());
  }
  if (view.snapshot) {
    for (const sched::EndpointState& e : view.snapshot->endpoints()) {
      served.insert(e.models.begin(), e.models.end());
      served.insert(e.lora_adapters.begin(), e.lora_adapters.end());
    }
  }
  view.serves_model = [&served](std::string_view model) { return served.count(std::string(model)) > 0; };
  view.namespace_name = options_.pool_namespace;
  std::vector<const metrics::WorkerStats*> workers;
  for (const metrics::WorkerStats* w : worker_stats_)
    if (w) workers.push_back(w);
  std::vector<const proxy::WorkerCounters*> counters_of_workers;
  for (const proxy::WorkerCounters* w : worker_counters_)
    if (w) counters_of_workers.push_back(w);
  const FlowView flow = flow_view();
  ControlCounters counters = counters_;
  counters.scrapes_ok = pool_.scrapes_ok();
  counters.scrapes_failed = pool_.scrapes_failed();
  counters.scrapes_unreadable = pool_.scrapes_unreadable();
  counters.ejections = health_.ejections_total();
  counters.config_reloads_ok = reloads_ok_.load(std::memory_order_relaxed);
  counters.config_reloads_failed = reloads_failed_.load(std::memory_order_relaxed);
  {
    std::lock_guard lock(tls_mutex_);
    counters.tls = tls_;
    counters.auth = auth_;
  }
  counters.admin_auth_rejections = admin_auth_rejections_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < kube_rejected_.size(); ++i)
    counters.kube_objects_rejected[i] = kube_rejected_[i].load(std::memory_order_relaxed);
  if (options_.access_log) {
    counters.access_log_enabled = true;
    counters.access_log_records = options_.access_log->records_written();
    counters.access_log_write_errors = options_.access_log->write_errors();
    for (const metrics::WorkerStats* w : worker_stats_)
      if (w) counters.access_log_dropped += w->access_log.dropped();
  }
  if (exporter_) {
    counters.tracing_enabled = true;
    counters.trace_spans_exported = exporter_->exported();
    for (size_t i = 0; i < kSpanDropReasons.size(); ++i)
      counters.trace_spans_dropped[i] = exporter_->dropped(i, worker_stats_);
    for (size_t i = 0; i < kExportFailureReasons.size(); ++i) counters.trace_export_failures[i] = exporter_->failures(i);
    counters.trace_spans_queued = exporter_->queued();
  }
  std::string text = render_gateway_metrics(view, workers, counters_of_workers, index_.stats(), counters,
                                            options_.build, options_.metric_names, &flow);
  if (subscriber_) append_kv_event_metrics(text);
  append_response_table_families(text, responses_);
  if (shared_) shared_->append_metrics(text);
  if (wake_hook_) wake_hook_->append_metrics(text);
  latency_.append_metrics(text, view.snapshot);
  return {200, "text/plain; version=0.0.4; charset=utf-8", std::move(text)};
}

// Precise prefix mode: the exact index's size and bound, and the event streams' health.
void ControlPlane::append_kv_event_metrics(std::string& out) const {
  append_kv_event_families(out, exact_.stats(), subscriber_->counters());
  if (const auto& tokenizer = options_.prompt_tokenizer)
    append_prompt_tokenizer_families(out, tokenizer->counts(), tokenizer->has_chat_template(), tokenizer->cache_stats());
}

AdminResponse ControlPlane::render_debug_endpoints() {
  const sched::EndpointSnapshot* snapshot = reader_.current();
  std::string body = "{\"pool\":";
  util::append_json_string(body, options_.pool_name);  // a configured name: escape it
  body += std::string(",\"ready\":") + (ready() ? "true" : "false") + ",\"draining\":" +
          (draining() ? "true" : "false");
  // The scheduler's load signal (scheduler.loadSignal): shared replicas agree, local ones
  // count their own in-flight requests.
  body += ",\"load_signal\":";
  sched::append_load_signal_json(body, options_.scheduler);
  // The scorers that run and their weights (scheduler.scorers).
  body += ",\"scorers\":";
  sched::append_scorers_json(body, options_.scheduler.weights);
  body += ",\"io_backend\":{\"backend\":";
  util::append_json_string(body, net::backend_kind_name(net::chosen_backend().kind));
  body += ",\"fallback_reason\":";
  util::append_json_string(body, net::chosen_backend().reason);
  body += "},\"endpoints\":";
  body.push_back('[');
  if (snapshot) {
    const auto reports = sched::describe_endpoints(*snapshot, inflight_, index_, Clock::now(), options_.scheduler);
    for (size_t i = 0; i < reports.size(); ++i) {
      // Each report's object plus the pool's verdict on it (why it is or is not routable).
      const std::string one = sched::to_json({reports[i]});  // "[{...}]"
      if (i) body.push_back(',');
      body.append(one, 1, one.size() - 3);                    // "{..." without the closing "}]"
      if (const EndpointHealth* h = pool_.health(reports[i].id)) {
        // Going away (Kubernetes terminating): no new request goes there, those running finish.
        body += std::string(",\"terminating\":") + (h->terminating ? "true" : "false");
        body += std::string(",\"health\":{\"discovered_ready\":") + (h->discovered_ready ? "true" : "false") +
                ",\"has_models\":" + (h->has_models ? "true" : "false") +
                ",\"probed\":" + (h->probed ? "true" : "false") +
                ",\"failed_scrapes\":" + std::to_string(h->failed_scrapes) +
                ",\"scrapes_ok\":" + std::to_string(h->scrapes_ok) +
                ",\"scrapes_failed\":" + std::to_string(h->scrapes_failed) +
                ",\"undeclared_engine_samples\":" + std::to_string(h->undeclared_engine_samples) + ",\"last_error\":";
        util::append_json_string(body, h->last_error);
        body.push_back('}');
      }
      // Its latency model: fitted coefficients and errors (issue 35).
      body += ",\"latency\":";
      latency_.append_endpoint_json(body, reports[i].id);
      // Where its prefix score comes from: KV events (precise) or the approximate index, and why.
      const sched::ExactEndpointReport exact = subscriber_ ? exact_.report(reports[i].id) : sched::ExactEndpointReport{};
      body += ",\"prefix_source\":{\"source\":";
      util::append_json_string(body, subscriber_ ? sched::to_string(exact.state) : "approximate");
      body += ",\"reason\":";
      util::append_json_string(body, subscriber_ ? std::string_view(exact.reason)
                                                 : std::string_view("no KV events configured (prefix mode approximate)"));
      body += ",\"blocks\":" + std::to_string(exact.blocks) +
              ",\"max_blocks\":" + std::to_string(subscriber_ ? exact_.max_blocks_per_endpoint() : 0) +
              ",\"batches\":" + std::to_string(exact.batches) +
              ",\"last_seq\":" + std::to_string(exact.last_seq);
      if (subscriber_) {
        auto src = std::find_if(kv_sources_.begin(), kv_sources_.end(),
                                [&](const KvEventSource& k) { return k.id == reports[i].id; });
        body += ",\"events_address\":";
        util::append_json_string(body, src != kv_sources_.end() ? src->address : std::string());
        body += ",\"replay_address\":";
        util::append_json_string(body, src != kv_sources_.end() ? src->replay_address : std::string());
        auto problem = kv_annotation_problems_.find(reports[i].id);
        body += ",\"annotation_problem\":";
        util::append_json_string(body, problem != kv_annotation_problems_.end() ? problem->second : std::string());
      }
      body += "}}";  // prefix_source, then the endpoint
    }
  }
  body.push_back(']');
  // The pool's latency fit: what an endpoint with few samples is predicted by.
  body += ",\"latency_pool\":";
  latency_.append_pool_json(body);
  // What requests learnt (passive health): consecutive failures, ejection, half-open.
  body += ",\"passive_health\":[";
  if (snapshot) {
    const uint64_t now_ms = proxy::PassiveHealth::now_ms();
    bool first = true;
    for (const sched::EndpointState& e : snapshot->endpoints()) {
      const proxy::PassiveHealthView v = health_.view(e.id, now_ms);
      if (!first) body += ',';
      first = false;
      body += "{\"endpoint\":\"" + e.address.text() + "\",\"consecutive_failures\":" +
              std::to_string(v.consecutive_failures) + ",\"ejected\":" + (v.ejected ? "true" : "false") +
              ",\"half_open\":" + (v.half_open ? "true" : "false") +
              ",\"ejected_for_ms\":" + std::to_string(v.ejected_for_ms) +
              ",\"ejections\":" + std::to_string(v.ejections) + "}";
    }
  }
  body += "]}\n";
  return {200, "application/json", body};
}

}  // namespace ringgate::control
