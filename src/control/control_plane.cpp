#include "ringgate/control/control_plane.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

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
      loop_(epoll_, options_, events_),
      exporter_(options_.tracing ? std::make_unique<OtlpExporter>(epoll_, *options_.tracing) : nullptr),
      wake_hook_(options_.wake_hook ? std::make_unique<WakeHook>(epoll_, *options_.wake_hook) : nullptr),
      worker_stats_(options_.workers, nullptr),
      worker_counters_(options_.workers, nullptr),
      views_(epoll_, AdminSources{&options_, &loop_, &status_, &events_, &loop_watch_, &worker_stats_,
                                  &worker_counters_, exporter_.get(), wake_hook_.get()}) {
  wake_.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_.add(wake_.fd, EPOLLIN, &wake_);
}

ControlPlane::~ControlPlane() {
  stop();
  epoll_.remove(wake_.fd);
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

void ControlPlane::wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_.fd, &one, sizeof one);
}

void ControlPlane::set_aliases(std::vector<std::string> aliases) {
  loop_.catalog().set_aliases(std::move(aliases));
  wake();
}

void ControlPlane::set_endpoints(std::vector<DesiredEndpoint> endpoints, bool synced) {
  loop_.set_endpoints(std::move(endpoints), synced);
  wake();
}

void ControlPlane::start() { thread_ = std::thread([this] { run(); }); }

void ControlPlane::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  wake();
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
    const Clock::time_point due = loop_.next_due(), now = Clock::now();
    if (due <= now)
      timeout_ms = 0;
    else if (due - now < std::chrono::milliseconds(10))
      timeout_ms = int((std::chrono::duration_cast<std::chrono::microseconds>(due - now).count() + 999) / 1000);
    epoll_.run_once(timeout_ms);
    loop_.turn();
    loop_ticks_.clear();
    for (const proxy::WorkerCounters* w : worker_counters_) loop_ticks_.push_back(w ? w->loop_ticks.get() : 0);
    loop_watch_.observe(loop_ticks_, Clock::now());
    views_.reap();
    if (exporter_) exporter_->tick(worker_stats_, util::steady_ns());
    if (wake_hook_) wake_hook_->tick(worker_stats_, util::steady_ns());
    if (options_.access_log && (wake_.woken || Clock::now() >= next_access_flush_)) {
      next_access_flush_ = Clock::now() + std::chrono::milliseconds(100);
      options_.access_log->flush(worker_stats_);
    }
    wake_.woken = false;
  }
  // The workers have stopped (stop() comes after them): their last records.
  if (options_.access_log) options_.access_log->flush(worker_stats_);
}

}  // namespace ringgate::control
