#pragma once
// grpc.health.v1.Health (Check and Watch) served on the ext-proc threads' own completion
// queues. grpc++'s built-in health service is not used: in a server of asynchronous services
// it polls a completion queue of its own on two more threads ("nexting_thread"), and those
// threads took the ext-proc sockets' events from the worker threads, so that an ext-proc
// message often crossed threads twice: the decision's p99 was 1.5-2.8 ms, against 0.4-0.5 ms
// without them (perf/epp/README.md).
#include <atomic>
#include <memory>
#include <string_view>
#include <vector>

namespace grpc {
class ServerCompletionQueue;
class Service;
}  // namespace grpc

namespace ringgate::epp {

// The statuses every thread answers with. Written by the server, read by any thread.
struct HealthBoard {
  enum class Status : uint8_t { Serving = 1, NotServing = 2, ServiceUnknown = 3 };

  std::atomic<bool> serving{false};
  std::atomic<bool> stopping{false};  // open Watch streams are ended with their last status

  // "", "readiness", "inference-extension" (the inferencepool chart's probe) and the ext-proc
  // service follow `serving`; "liveness" is Serving while the server runs (as GAIE's).
  Status status_of(std::string_view service) const;
};

class GrpcHealthService {
 public:
  explicit GrpcHealthService(const HealthBoard& board);
  ~GrpcHealthService();
  GrpcHealthService(const GrpcHealthService&) = delete;
  GrpcHealthService& operator=(const GrpcHealthService&) = delete;

  grpc::Service* service();

  struct Impl;

  // One per ext-proc thread, made before the thread's loop: asks for the thread's first
  // Check and Watch calls and keeps its open Watch streams. Destroyed after the queue has
  // drained (every call it made has then ended).
  class Thread {
   public:
    Thread(GrpcHealthService& owner, grpc::ServerCompletionQueue& cq);
    // From the thread's ~100 ms tick: a Watch whose service changed status is sent the new one.
    void tick();

    struct Watch;
    Impl& shared;  // the board and the generated service, the same for every thread
    grpc::ServerCompletionQueue& cq;
    std::vector<Watch*> watches;
  };

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringgate::epp
