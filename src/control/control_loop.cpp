#include "ringgate/control/control_loop.h"

#include <algorithm>

namespace ringgate::control {

ControlLoop::ControlLoop(EpollLoop& loop, const ControlPlaneOptions& options, EventLog& events)
    : options_(options),
      publisher_(options.workers + 2),  // the workers, the admin pages, the dry-run router
      index_(size_t(1) << 16, size_t(1) << 16, options.scheduler.prefix_index_bytes),
      responses_(options.responses),
      latency_(options.workers + 2),  // the workers' slots, and the admin and dry-run ones (never written)
      health_(options.health),
      pool_(loop, registry_, options.pool),
      pool_events_(events, pool_, health_) {
  reader_ = publisher_.reader(options.workers);
  saturation_ = options.scheduler.saturation;  // until the first rules are set
  // A released id goes to a new address only once no request is in flight to the old one.
  registry_.set_reuse_check([this](sched::EndpointId id) { return inflight_.get(id) == 0; });
  if (options.scheduler.precise_prefix) kv_ = std::make_unique<KvEventSources>(options.kv_events, options.scheduler);
  if (options.shared_state.enabled())
    shared_ = std::make_unique<SharedState>(loop, options.shared_state, options.pool_name, options.limiter, index_,
                                            responses_, options.workers);
  // Workers may start before the first membership arrives: give them an empty pool.
  publisher_.publish(std::make_unique<sched::EndpointSnapshot>(std::vector<sched::EndpointState>{}));
}

ControlLoop::~ControlLoop() { reader_.release(); }

void ControlLoop::share(proxy::RouterShared& router) {
  router.publisher = &publisher_;
  router.index = &index_;
  router.responses = &responses_;
  router.inflight = &inflight_;
  router.health = &health_;
  router.latency_rings = latency_.rings();
  router.latency_ring_count = latency_.ring_count();
  router.exact = kv_ ? &kv_->index() : nullptr;
  if (shared_) {
    router.placement_rings = shared_->placement_rings();
    router.placement_ring_count = shared_->placement_ring_count();
    router.response_rings = shared_->response_rings();
    router.response_ring_count = shared_->response_ring_count();
    router.response_arrivals = shared_->response_arrivals();
  }
}

void ControlLoop::set_endpoints(std::vector<DesiredEndpoint> endpoints, bool synced) {
  std::lock_guard lock(pending_mutex_);
  pending_ = std::move(endpoints);
  if (synced) pending_synced_ = true;
}

void ControlLoop::set_saturation(const sched::SaturationConfig& saturation) {
  std::lock_guard lock(pending_mutex_);
  saturation_ = saturation;
}

sched::SaturationConfig ControlLoop::saturation() const {
  std::lock_guard lock(pending_mutex_);
  return saturation_;
}

void ControlLoop::turn() {
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
  pool_events_.note_passive_health(reader_.current());
}

void ControlLoop::apply_pending_endpoints() {
  std::optional<std::vector<DesiredEndpoint>> next;
  {
    std::lock_guard lock(pending_mutex_);
    next.swap(pending_);
    if (next && pending_synced_) synced_ = true;  // applied below, before this thread publishes
  }
  if (!next) return;
  if (kv_) kv_->note_annotations(*next);
  pool_.set_members(*next);
  purge_removed();
}

// Endpoints that left (discovery), or ranks a server no longer serves (its /metrics).
void ControlLoop::purge_removed() {
  for (sched::EndpointId gone : pool_.take_removed()) {
    index_.purge(gone);
    latency_.reset(gone);  // its id's next holder is another server
  }
}

void ControlLoop::publish_if_changed() {
  const bool published = pool_.changed();
  if (published) {
    purge_removed();
    std::unique_ptr<sched::EndpointSnapshot> snapshot = pool_.build_snapshot(&latency_.model());
    pool_events_.published(reader_.current(), *snapshot);  // this thread's slot still holds the last one
    size_t routable = 0;
    for (const sched::EndpointState& e : snapshot->endpoints()) {
      inflight_.ensure(e.id);  // before any worker can see the id
      latency_.ensure(e.id);
      health_.ensure(e.id);
      if (e.id >= routable_by_id_.size()) routable_by_id_.resize(size_t(e.id) + 1, 0);
      if (e.routable && !routable_by_id_[e.id]) health_.reset(e.id);
      // From both tiers (llm-d-router #1650: sized to HBM alone, the index forgets what the
      // CPU tier still holds), in the index's blocks (a 64-token block is four of its 64-byte ones).
      if (e.num_gpu_blocks)
        index_.set_capacity(e.id, sched::kv_index_capacity(e.num_gpu_blocks + e.num_cpu_blocks, e.block_size,
                                                           options_.prefix_block_bytes));
      if (e.routable) ++routable;
    }
    std::fill(routable_by_id_.begin(), routable_by_id_.end(), 0);
    for (const sched::EndpointState& e : snapshot->endpoints()) routable_by_id_[e.id] = e.routable ? 1 : 0;
    if (kv_) kv_->update(*snapshot);
    // The catalog first: a worker adopts the snapshot, then the catalog (adopt_published_state),
    // so one that routes on this snapshot labels its models (a request on the first routable
    // snapshot was counted as model "other" when the catalog came a moment later).
    catalog_.publish(*snapshot);
    publisher_.publish(std::move(snapshot));
    ++snapshots_published_;
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
  if (kv_ && kv_->annotations_changed() && current) kv_->update(*current);
  if (current && !published && catalog_.aliases_changed()) catalog_.publish(*current);
  publisher_.reclaim();
}

}  // namespace ringgate::control
