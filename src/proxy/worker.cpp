// A data-path worker is composition only: an event loop (net::Loop, io_uring or
// epoll), the listener's accept handler, client connections (each owning the Exchange
// of its current request), the upstream pool, and a 100 ms tick for what is not a
// per-socket deadline (stop requests, drain, loop-liveness and overflow counters).
#include "ringgate/proxy/worker.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include "ringgate/http/error_response.h"
#include "ringgate/net/listener.h"
#include "ringgate/net/loop.h"
#include "ringgate/proxy/client_connection.h"
#include "ringgate/proxy/exchange.h"
#include "ringgate/proxy/response_waiters.h"
#include "ringgate/proxy/upstream_pool.h"
#include "ringgate/util/monotonic_clock.h"

namespace ringgate::proxy {

namespace {
constexpr uint32_t kTickMs = 100;
// After the drain deadline: how long the closing bytes (503s, SSE error events) may take to
// leave, behind sends that were in flight, before the loop stops regardless.
constexpr uint64_t kCutGraceMs = 1000;
// While requests wait in the flow-control queue: how often the worker looks again for
// capacity another worker's completion or a new scrape freed (and expires the TTL).
constexpr uint32_t kFlowRecheckMs = 5;
// While requests are held for a model with no ready server: how often the worker routes
// them again besides each new endpoint snapshot (and expires noEndpointRequestTTL).
constexpr uint32_t kHoldRecheckMs = 100;
enum TimerKind : uint8_t { kTick, kAcceptBackoff, kFlowRecheck, kHoldRecheck };

// mimalloc's collection, when the binary links mimalloc (weak: absent under sanitizers).
// Its freed segments are only purged back to the OS when the owning thread allocates or
// collects; an idle worker after a burst of big bodies would keep them resident.
extern "C" void mi_collect(bool force) __attribute__((weak));
constexpr size_t kCollectAfterBufferedBytes = 16u << 20;

// Before the first publication (and in tests that publish nothing).
const RequestRules kNoRules;
const ModelCatalog kNoModels;
}  // namespace

class WorkerLoop final : public net::IoHandler, public net::TimerTarget, public RouteService {
 public:
  WorkerLoop(const WorkerContext& context, int index)
      : context_(context),
        options_(context.options),
        index_(index),
        router_(context.router, size_t(index), stats_),
        flow_(context.flow_shared, size_t(index), context.workers) {
    if (options_.access_log_ring_slots) stats_.access_log.enable(options_.access_log_ring_slots);
    if (options_.tracing.enabled) stats_.spans.enable(options_.tracing.ring_slots);
    upstream_rt_.loop = &loop_;
    upstream_rt_.options = &options_;
    upstream_rt_.counters = &counters_;
    upstream_rt_.pool = &pool_;
    env_.options = &options_;
    env_.counters = &counters_;
    env_.stats = &stats_;
    env_.router = this;
    if (context.rules) rules_reader_ = context.rules->reader(size_t(index));
    if (context.catalog) catalog_reader_ = context.catalog->reader(size_t(index));
    if (context.tls) tls_reader_ = context.tls->reader(size_t(index));
    if (context.api_keys) api_keys_reader_ = context.api_keys->reader(size_t(index));
    env_.rules = &kNoRules;
    env_.upstreams = &pool_;
    env_.flow = &flow_;
    env_.flow_limits = &flow_limits_;
    env_.hold = &hold_;
    hold_.publish_to(&stats_.held_models);
    env_.limiter = context.limiter;
    env_.labels = context.labels;
    env_.responses = context.router.responses;
    if (context.router.response_rings != nullptr && size_t(index) < context.router.response_ring_count)
      env_.response_ring = &context.router.response_rings[index];
    if (context.router.response_arrivals != nullptr && size_t(index) < context.router.response_arrivals->size()) {
      response_waiters_ = std::make_unique<ResponseWaiters>(&context.router.response_arrivals->inbox(size_t(index)));
      env_.response_waiters = response_waiters_.get();
    }
    env_.timers = &loop_.timers();
    env_.now_ms = &now_ms_;
    env_.rng = sched::Rng(0x7e11ull * uint64_t(index + 1));
    // Trace ids must differ between processes (and restarts), not only between workers.
    env_.trace_ids = util::TraceIdSource(std::random_device{}() ^ (uint64_t(std::random_device{}()) << 32) ^
                                         (uint64_t(index) << 56) ^ uint64_t(util::steady_ns()));
    env_.worker_index = index;
    env_.prefix_block_bytes = DigestOptions{context.router.prefix_block_bytes, context.router.media, &stats_.media_parts};
    env_.body_reader.count_media_into(&stats_.media_parts);
    client_rt_.loop = &loop_;
    client_rt_.options = &options_;
    client_rt_.counters = &counters_;
    env_.catalog = &kNoModels;
    client_rt_.exchange_env = &env_;
  }

  ~WorkerLoop() override {
    // The loop has stopped: nothing completes any more, free what is left directly,
    // while the runtimes their destructors use are alive: closing ones first (they are
    // on the loop's retired list), then open clients (they retire their upstreams).
    loop_.drop_retired();
    while (client_rt_.all) delete client_rt_.all;
    pool_.close_idle();
    loop_.drop_retired();
    if (response_waiters_) response_waiters_->stop();
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }

  std::string init(const net::Address& listen) {
    net::LoopOptions loop_options;
    loop_options.backend = context_.backend;
    loop_options.buffer_count = options_.buffer_count;
    loop_options.buffer_size = options_.buffer_size;
    if (std::string error = loop_.init(loop_options); !error.empty()) return error;
    net::ListenResult listener = net::bind_tcp(listen, /*reuse_port=*/true);
    if (listener.fd < 0) return listener.error;
    listen_fd_ = listener.fd;
    listen_address_ = *net::local_address(listen_fd_);
    return {};
  }

  std::string open_listener() { return net::start_listening(listen_fd_); }

  net::Address listen_address() const { return listen_address_; }
  const WorkerCounters& counters() const { return counters_; }
  const metrics::WorkerStats& stats() const { return stats_; }
  void stop() { stop_requested_.store(true, std::memory_order_release); }

  void run() {
    if (stop_requested_.load(std::memory_order_acquire)) return;  // stopped before it opened
    now_ms_ = loop_.now_ms();
    adopt_published_state();
    // Every turn, before its completions: the newest endpoint snapshot and rules.
    loop_.set_turn_hook([this] {
      now_ms_ = loop_.now_ms();
      adopt_published_state();
      // A new snapshot or the completions of the last turn may have freed capacity.
      if (!flow_.empty()) flow_.dispatch();
      // Held requests are routed again when the endpoints change (a server may have come), not every turn.
      if (router_.snapshot() != held_on_ && !hold_.empty()) hold_.dispatch();
      held_on_ = router_.snapshot();
    });
    arm_accept();
    if (response_waiters_) response_waiters_->start(loop_);
    loop_.timers().arm(tick_, kTickMs, now_ms_);
    while (!finished_) {
      const int rc = loop_.run_once(-1);
      if (rc < 0) {
        std::fprintf(stderr, "ringgate: worker %d: event loop: %s\n", index_, std::strerror(-rc));
        break;
      }
      now_ms_ = loop_.now_ms();
      if (!flow_.empty() && !flow_recheck_.armed()) loop_.timers().arm(flow_recheck_, kFlowRecheckMs, now_ms_);
      if (!hold_.empty() && !hold_recheck_.armed()) loop_.timers().arm(hold_recheck_, kHoldRecheckMs, now_ms_);
      if (hold_.models() > 0) hold_.publish();  // a client gone while held leaves its queue without ModelHold
    }
  }

  // RouteService: the worker's RequestRouter and the shared passive health. The slot a
  // decision counted is taken into its ticket here, at once.
  Routed route(const RouteRequest& request) override {
    return Routed(*this, router_.route(request), request.sheddable);
  }
  void same_server(uint32_t endpoint_id, std::vector<uint32_t>& out) override {
    if (const sched::EndpointSnapshot* snapshot = router_.snapshot()) sched::same_server(*snapshot, endpoint_id, out);
  }
  Routed route_to(uint64_t server, const RouteRequest& request) override {
    return Routed(*this, router_.route_to(server, request), request.sheddable);
  }
  void routed(uint32_t endpoint_id, std::span<const uint64_t> prefix_hashes) override {
    router_.routed(endpoint_id, prefix_hashes);
  }
  void released(uint32_t endpoint_id, bool sheddable) override { router_.released(endpoint_id, sheddable); }
  void endpoint_failed(uint32_t endpoint_id) override {
    if (PassiveHealth* health = router_.health()) health->record_failure(endpoint_id, PassiveHealth::now_ms());
  }
  void endpoint_succeeded(uint32_t endpoint_id) override {
    if (PassiveHealth* health = router_.health()) health->record_success(endpoint_id, PassiveHealth::now_ms());
  }
  bool disaggregating() const override { return router_.disaggregating(options_.disaggregation); }
  void prefill_sent(uint32_t endpoint_id, uint32_t tokens, uint64_t sent_ms) override {
    router_.prefill_sent(endpoint_id, tokens, sent_ms);
  }
  void prefill_done(uint32_t endpoint_id, uint32_t tokens, uint64_t sent_ms) override {
    router_.prefill_done(endpoint_id, tokens, sent_ms);
  }
  void latency_observed(const sched::LatencySample& sample) override { router_.latency_observed(sample); }
  void load_sent(uint32_t endpoint_id, uint32_t tokens) override { router_.load_sent(endpoint_id, tokens); }
  void load_done(uint32_t endpoint_id, uint32_t tokens) override { router_.load_done(endpoint_id, tokens); }

  // The listener's completions (multishot accept).
  void on_completion(const net::Completion& c) override {
    if (c.op != net::IoOp::Accept) return;
    if (c.res >= 0) {
      accepted(c.res);  // also while draining: it reached us before the listener closed
    } else if (c.res == -EMFILE || c.res == -ENFILE || c.res == -ENOMEM || c.res == -ENOBUFS) {
      // Out of descriptors or memory: re-arming at once would spin on the same error.
      counters_.accept_errors.add();
      if (!accept_error_logged_) {
        std::fprintf(stderr, "ringgate: worker %d: accept: %s (backing off %u ms; counted in "
                     "ringgate_accept_errors_total)\n", index_, std::strerror(-c.res), options_.accept_backoff_ms);
        accept_error_logged_ = true;
      }
      backing_off_ = true;
      if (c.more && accept_armed_) loop_.cancel_accept(listen_fd_, this);
    } else if (c.res != -ECANCELED && c.res != -EINTR && c.res != -ECONNABORTED) {
      counters_.accept_errors.add();
      if (!accept_error_logged_) {
        std::fprintf(stderr, "ringgate: worker %d: accept: %s\n", index_, std::strerror(-c.res));
        accept_error_logged_ = true;
      }
    }
    if (!c.more) {
      accept_armed_ = false;
      if (draining_) {
        close_listener();
      } else if (backing_off_) {
        loop_.timers().arm(accept_backoff_, std::max<uint32_t>(1, options_.accept_backoff_ms), now_ms_);
      } else {
        counters_.multishot_rearms.add();
        arm_accept();
      }
    }
  }

  void on_timer(net::Timer& timer) override {
    now_ms_ = loop_.now_ms();
    if (timer.id() == kFlowRecheck) {
      flow_.expire(now_ms_, flow_limits_.ttl_ms);
      if (!flow_.empty()) loop_.timers().arm(flow_recheck_, kFlowRecheckMs, now_ms_);
      return;
    }
    if (timer.id() == kHoldRecheck) {
      hold_.expire(now_ms_, flow_limits_.no_endpoint_ttl_ms);
      if (!hold_.empty()) loop_.timers().arm(hold_recheck_, kHoldRecheckMs, now_ms_);
      return;
    }
    if (timer.id() == kAcceptBackoff) {
      backing_off_ = false;
      if (!draining_ && !accept_armed_ && listen_fd_ >= 0) arm_accept();
      return;
    }
    on_tick();
  }

 private:
  void adopt_published_state() {
    // The snapshot before the catalog (the control plane publishes them the other way
    // round): the catalog adopted is at least as new as the snapshot routed on.
    router_.refresh();
    // A pointer from refresh() stays valid until this reader's next refresh(): nothing
    // keeps the previous one (exchanges read env_.rules / the catalog at each use).
    if (const RequestRules* rules = rules_reader_.refresh()) {
      if (rules != env_.rules) adopt_flow_limits(*rules);
      env_.rules = rules;
    }
    if (const ModelCatalog* catalog = catalog_reader_.refresh()) env_.catalog = catalog;
    tls_ = tls_reader_.refresh();
    env_.api_keys = api_keys_reader_.refresh();
  }

  // The rules' gateway-wide queue bounds, this worker's share.
  void adopt_flow_limits(const RequestRules& rules) {
    assign_worker_share(flow_limits_, rules.flow.limits, context_.workers);
  }

  void arm_accept() {
    accept_armed_ = true;
    loop_.accept(listen_fd_, this);
  }

  void accepted(int fd) {
    counters_.connections_accepted.add();
    if (client_rt_.clients >= options_.max_connections) {
      // --max-connections: answered, not left hanging in the backlog (clients learn at
      // once and retry elsewhere; accept keeps draining the queue so it cannot spin).
      counters_.connections_rejected.add();
      counters_.connections_closed.add();
      counters_.responses_by_class[5].add();
      counters_.gateway_errors.add();
      if (reject_response_.empty()) {
        http::append_error(reject_response_, 503, "too_many_connections",
                           "this gateway worker is at its connection limit; retry later", /*close=*/true,
                           "retry-after: 1\r\n");
      }
      [[maybe_unused]] ssize_t n = ::send(fd, reject_response_.data(), reject_response_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      shutdown(fd, SHUT_WR);
      ::close(fd);
      return;
    }
    net::set_nodelay(fd);
    auto* client = new ClientConnection(client_rt_, fd, tls_ ? tls_->ctx() : nullptr);
    client->start();
  }

  // Draining: connections already in the listener's queue would be reset by close():
  // take them first (gateway replacement: the new process gets every later one).
  void close_listener() {
    if (listen_fd_ < 0) return;
    for (int fd; (fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) accepted(fd);
    // A still-pending multishot accept holds the socket open past close(): stop it
    // listening, and let the backend forget the fd before its number is reused.
    shutdown(listen_fd_, SHUT_RDWR);
    loop_.cancel_fd(listen_fd_, this);
    ::close(listen_fd_);
    listen_fd_ = -1;
  }

  // After a burst of buffered request bytes has drained, hand the memory back to the OS
  // (once per burst: nothing on the request path, nothing while idle).
  void give_back_memory() {
    buffered_high_water_ = std::max(buffered_high_water_, client_rt_.buffered_request_bytes);
    if (buffered_high_water_ < kCollectAfterBufferedBytes || client_rt_.buffered_request_bytes * 4 > buffered_high_water_)
      return;
    if (mi_collect) mi_collect(true);
    buffered_high_water_ = client_rt_.buffered_request_bytes;
  }

  void on_tick() {
    counters_.loop_ticks.add();
    const uint64_t overflow = loop_.overflows();
    if (overflow != last_overflow_) {
      counters_.cq_overflows.add(overflow - last_overflow_);
      last_overflow_ = overflow;
    }
    if (stop_requested_.load(std::memory_order_acquire) && !draining_) start_draining();
    give_back_memory();
    if (draining_) {
      // Idle: stop listening now, not when the loop goes (the accept cancel may never be reaped).
      if (client_rt_.clients == 0) close_listener();
      if (client_rt_.clients == 0 || now_ms_ >= drain_deadline_ms_ + kCutGraceMs) {
        finished_ = true;
        return;
      }
      if (now_ms_ >= drain_deadline_ms_ && !cut_) cut_at_drain_deadline();
    }
    loop_.timers().arm(tick_, kTickMs, now_ms_);
  }

  // The drain timeout is over: requests still running are cut visibly, never silently (an
  // SSE error event and the end of the chunked body, a 503 when no answer began, or a cut
  // body), queued like any other output; the loop runs on until they are sent or the grace ends.
  void cut_at_drain_deadline() {
    cut_ = true;
    for (ClientConnection* c = client_rt_.all; c != nullptr;) {
      ClientConnection* next = c->next;  // cutting may close (unlink) `c`
      c->cut_at_shutdown();
      c = next;
    }
  }

  void start_draining() {
    draining_ = true;
    client_rt_.draining = true;
    upstream_rt_.draining = true;
    env_.draining = true;
    drain_deadline_ms_ = now_ms_ + options_.drain_timeout_ms;
    accept_backoff_.cancel();
    if (accept_armed_) loop_.cancel_accept(listen_fd_, this);
    else close_listener();
    pool_.close_idle();
    for (ClientConnection* c = client_rt_.all; c != nullptr; c = c->next) c->drain_started();
  }

  const WorkerContext& context_;
  const ProxyOptions& options_;
  const int index_;
  net::Loop loop_;  // first: destroyed last
  WorkerCounters counters_;
  metrics::WorkerStats stats_;
  RequestRouter router_;  // after stats_: it records into them
  // What the control plane published (one Reader slot per worker).
  RulesPublisher::Reader rules_reader_;
  CatalogPublisher::Reader catalog_reader_;
  net::TlsPublisher::Reader tls_reader_;
  ApiKeysPublisher::Reader api_keys_reader_;
  const net::TlsContext* tls_ = nullptr;  // the newest certificate (null: plain HTTP)
  uint64_t now_ms_ = 0;
  UpstreamRuntime upstream_rt_;
  UpstreamPool pool_{upstream_rt_};
  FlowQueue flow_;
  FlowLimits flow_limits_;
  ModelHold hold_;                                     // requests waiting for a model with no ready server
  const sched::EndpointSnapshot* held_on_ = nullptr;   // the snapshot the held requests were last routed on
  std::unique_ptr<ResponseWaiters> response_waiters_;  // before env_ and the clients: they point at it
  ExchangeEnv env_;
  ClientRuntime client_rt_;
  int listen_fd_ = -1;
  net::Address listen_address_;
  std::string reject_response_;
  net::Timer tick_{this, kTick};
  net::Timer accept_backoff_{this, kAcceptBackoff};
  net::Timer flow_recheck_{this, kFlowRecheck};
  net::Timer hold_recheck_{this, kHoldRecheck};
  bool accept_armed_ = false;
  bool backing_off_ = false;
  bool accept_error_logged_ = false;
  uint64_t last_overflow_ = 0;
  size_t buffered_high_water_ = 0;  // since the last give_back_memory()
  std::atomic<bool> stop_requested_{false};
  bool draining_ = false;
  bool finished_ = false;
  bool cut_ = false;
  uint64_t drain_deadline_ms_ = 0;
};

Worker::Worker(const WorkerContext& context, int index) : loop_(std::make_unique<WorkerLoop>(context, index)) {}
Worker::~Worker() = default;
std::string Worker::init(const net::Address& listen) { return loop_->init(listen); }
std::string Worker::open_listener() { return loop_->open_listener(); }
net::Address Worker::listen_address() const { return loop_->listen_address(); }
void Worker::run() { loop_->run(); }
void Worker::stop() { loop_->stop(); }
const WorkerCounters& Worker::counters() const { return loop_->counters(); }
const metrics::WorkerStats& Worker::stats() const { return loop_->stats(); }

}  // namespace ringgate::proxy
