// The simulator's single-threaded event loop: epoll for sockets and signals,
// the engine's earliest token deadline as the wait timeout. SIGTERM/SIGINT
// stop accepting, let running requests finish, then run() returns 0.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ringgate/sim/engine.h"
#include "ringgate/sim/http_session.h"
#include "ringgate/sim/kv_event_publisher.h"
#include "ringgate/sim/options.h"
#include "ringgate/sim/sim_api.h"

namespace ringgate::sim {

class ServerLoop {
 public:
  explicit ServerLoop(const SimOptions& options);
  ~ServerLoop();
  ServerLoop(const ServerLoop&) = delete;
  ServerLoop& operator=(const ServerLoop&) = delete;

  // Blocks SIGTERM/SIGINT (they arrive through a signalfd) and binds (not
  // listening yet). Returns an error message, or "" on success.
  std::string start();
  // Sits out --startup-delay with the port bound but closed (connections are
  // refused, as while vLLM loads its model). False: SIGTERM/SIGINT came first.
  bool wait_until_ready();
  // Starts accepting connections. Returns an error message, or "" on success.
  std::string begin_listening();
  // "host:port" actually bound (port resolved when 0 was asked).
  const std::string& address() const { return address_; }
  // The KV-event publisher of local engine `index` (one per data-parallel rank, on the
  // configured ports + rank), when --kv-events-config enables them; null otherwise.
  const KvEventPublisher* kv_events(size_t index = 0) const {
    return index < kv_events_.size() ? kv_events_[index].get() : nullptr;
  }
  size_t engine_count() const { return engines_.size(); }
  // Serves until drained after SIGTERM/SIGINT. Returns the exit status.
  int run();

 private:
  struct Connection {
    std::unique_ptr<HttpSession> session;
    bool watching_writes = false;
  };

  void accept_all();
  void on_signal();
  void start_drain();
  void close_connection(int fd);
  void process_touched();
  void flush_kv_events();
  void close_idle_connections(uint64_t now_ns);
  void watch_writes(int fd, Connection& c, bool on);
  Connection* find(int fd);

  // Summed over the engines.
  uint32_t running() const;
  uint32_t waiting() const;

  const SimOptions& options_;
  std::vector<uint32_t> ranks_;                   // the data-parallel rank of each engine
  std::vector<std::unique_ptr<Engine>> engines_;  // one per local data-parallel rank
  KvPullClient pulls_;  // before api_, which uses it
  SimApi api_;
  std::vector<std::unique_ptr<KvEventPublisher>> kv_events_;  // by engine
  uint64_t start_ns_ = 0;
  uint64_t speed_change_ns_ = 0;  // --speed-after: when (0: none or done)
  int epoll_fd_ = -1;
  int listen_fd_ = -1;
  int signal_fd_ = -1;
  std::string address_;
  std::vector<std::unique_ptr<Connection>> connections_;  // by fd
  size_t open_connections_ = 0;
  std::vector<int> touched_;
  bool draining_ = false;
  uint64_t keep_alive_ns_ = 0;     // 0: idle connections stay open
  uint64_t next_idle_sweep_ns_ = 0;
};

}  // namespace ringgate::sim
