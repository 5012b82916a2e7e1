#pragma once
// A worker's upstream connections: opens attempts (an idle keep-alive connection to the
// endpoint when there is one, most recently used first, else a new connection) and owns
// the idle ones, each closed by its own idle timer before vLLM's 5 s keep-alive timeout.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ringgate/proxy/upstream_connection.h"

namespace ringgate::proxy {

class UpstreamPool final : public UpstreamSide {
 public:
  explicit UpstreamPool(UpstreamRuntime& runtime) : rt_(runtime) {}
  ~UpstreamPool() override;

  UpstreamChannel* open(uint32_t endpoint_id, const net::Address& address, bool allow_reuse,
                        const RequestImage& image, AttemptListener* listener) override;

  void put(UpstreamConnection* connection);
  // Forget a connection (it closed or expired); no-op when not pooled.
  void remove(UpstreamConnection* connection);
  // Draining: every idle connection closes.
  void close_idle();
  size_t idle_count() const;

 private:
  UpstreamConnection* take(uint32_t endpoint_id);
  UpstreamRuntime& rt_;
  std::vector<std::vector<UpstreamConnection*>> idle_;  // by endpoint id (dense, never reused)
};

}  // namespace ringgate::proxy
