#pragma once
// One data-path worker: a thread with its own event loop (io_uring or epoll), its own
// SO_REUSEPORT listener (multishot accept), client connections,
// upstream keep-alive pool per endpoint and counters. Nothing here is shared with
// other workers except what the control plane publishes (endpoint snapshots, rules,
// the model catalog) and the scheduler's shared prefix index and in-flight counts.
#include <atomic>
#include <memory>
#include <string>

#include "ringgate/metrics/gateway_stats.h"
#include "ringgate/net/address.h"
#include "ringgate/net/io_backend.h"
#include "ringgate/net/tls_context.h"
#include "ringgate/proxy/flow_queue.h"
#include "ringgate/proxy/model_catalog.h"
#include "ringgate/proxy/rate_limiter.h"
#include "ringgate/proxy/proxy_options.h"
#include "ringgate/proxy/request_router.h"
#include "ringgate/proxy/api_key_table.h"
#include "ringgate/proxy/request_rules.h"
#include "ringgate/proxy/worker_counters.h"

namespace ringgate::proxy {

struct WorkerContext {
  ProxyOptions options;
  RouterShared router;                  // each worker builds its own RequestRouter on it
  const RulesPublisher* rules = nullptr;     // one reader slot per worker index
  const CatalogPublisher* catalog = nullptr; // one reader slot per worker index
  // The API listener's TLS certificate, rotated by the control thread (null: plain HTTP).
  const net::TlsPublisher* tls = nullptr;
  const ApiKeysPublisher* api_keys = nullptr;  // auth on: one reader slot per worker index
  net::BackendKind backend = net::BackendKind::IoUring;  // resolved (never Auto): net::choose_backend()
  // Flow control and rate limits, shared by the workers (null: none).
  FlowShared* flow_shared = nullptr;
  RateLimiter* limiter = nullptr;
  metrics::LabelBounds* labels = nullptr;  // metric label values, bounded for the process (null: no bound)
  size_t workers = 1;  // how many share flow_shared (each enforces 1/workers of the queue bounds)
};

class WorkerLoop;

class Worker {
 public:
  Worker(const WorkerContext& context, int index);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Sets up the ring, buffers and the listener bound to `listen` (port 0 = any; other
  // workers then pass listen_address() of the first). Empty string = success.
  std::string init(const net::Address& listen);
  net::Address listen_address() const;
  // From any thread, after init() and before run(): the listener starts queueing
  // connections (until then the kernel hands them to other listeners on the port).
  std::string open_listener();

  // Serves until stop(), then drains in-flight requests (bounded) and returns (at once
  // when stopped before it began). Must run on the thread that owns the ring (call
  // init() on it too), after open_listener().
  void run();
  // From any thread.
  void stop();

  const WorkerCounters& counters() const;
  // Per-model request statistics (inference_objective_*) and scheduler statistics.
  const metrics::WorkerStats& stats() const;

 private:
  std::unique_ptr<WorkerLoop> loop_;
};

}  // namespace ringgate::proxy
