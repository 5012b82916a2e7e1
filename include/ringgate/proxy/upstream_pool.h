#pragma once
// A worker's idle upstream connections, per endpoint, most recently used first out.
// Connections older than the idle timeout are closed by the worker's tick (their
// deadline), always before vLLM's own 5 s keep-alive timeout.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ringgate::proxy {

struct Upstream;

class UpstreamPool {
 public:
  UpstreamPool() = default;  // grows as endpoint ids appear (ids are dense, never reused)
  void put(Upstream* upstream, uint64_t now_ms);
  // An idle connection to `endpoint_id`, or nullptr.
  Upstream* take(uint32_t endpoint_id, uint64_t now_ms);
  // Forget a connection (it closed or expired); no-op when not pooled.
  void remove(Upstream* upstream);

 private:
  std::vector<std::vector<Upstream*>> idle_;
};

}  // namespace ringgate::proxy
