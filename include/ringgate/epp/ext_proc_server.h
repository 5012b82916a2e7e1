#pragma once
// The EPP's gRPC server: envoy.service.ext_proc.v3.ExternalProcessor/Process on the
// ext-proc port (GAIE: :9002) and grpc.health.v1.Health on it and on the health port
// (GAIE: :9003). One thread per EppWorker, each with its own event loop (net::Loop, io_uring
// or epoll) and its own listening sockets on both ports (SO_REUSEPORT): a connection, and
// every stream on it, is served start to end on the thread that accepted it
// (GrpcConnection), so its Exchange, router and statistics are single-threaded as in a
// gateway worker.
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ringgate/epp/epp_worker.h"
#include "ringgate/epp/ext_proc_tls.h"
#include "ringgate/net/address.h"
#include "ringgate/net/io_backend.h"

namespace ringgate::epp {

struct ExtProcServerOptions {
  net::Address listen;         // ext-proc (0 port = any)
  net::Address health_listen;  // grpc.health.v1 only (0 port = any), always plain text
  ExtProcTls tls;              // the ext-proc port's (TLS by default, as the Go EPP)
  unsigned threads = 1;
  net::BackendKind backend = net::BackendKind::IoUring;  // resolved (not Auto)
  EppWorkerContext worker;
  // Concurrent streams of one connection beyond this are refused (REFUSED_STREAM) before
  // any state is made for them.
  int max_concurrent_streams = 16384;
  // Polled every 100 ms: the health service's SERVING / NOT_SERVING (pool synced, an
  // endpoint routable, not draining). Null = always serving.
  std::function<bool()> ready;
};

class ExtProcServer {
 public:
  explicit ExtProcServer(ExtProcServerOptions options);
  ~ExtProcServer();
  ExtProcServer(const ExtProcServer&) = delete;
  ExtProcServer& operator=(const ExtProcServer&) = delete;

  // Binds, starts the threads. Empty string = success.
  std::string start();
  // How the ext-proc port is served (after start()): ext_proc_credentials' description.
  const std::string& transport() const { return transport_; }
  // The bound addresses (after start()).
  net::Address address() const { return address_; }
  net::Address health_address() const { return health_address_; }
  // Per-thread statistics and counters, for ControlPlane::attach_worker (after construction).
  size_t worker_count() const { return workers_.size(); }
  const EppWorker& worker(size_t i) const { return *workers_[i]; }

  // grpc.health.v1's statuses (HealthBoard::status_of), any time before or after start().
  void set_serving(bool serving);
  // Streams in progress get until `drain_ms` to end, then everything stops.
  void stop(uint32_t drain_ms);

  struct Impl;

 private:
  ExtProcServerOptions options_;
  std::vector<std::unique_ptr<EppWorker>> workers_;
  std::unique_ptr<Impl> impl_;
  std::vector<std::thread> threads_;
  net::Address address_;
  net::Address health_address_;
  std::string transport_;
  bool stopped_ = false;
  bool started_ = false;
};

}  // namespace ringgate::epp
