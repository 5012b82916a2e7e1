#pragma once
// grpc.health.v1.Health's statuses as the EPP answers Check and Watch (served by
// GrpcConnection on the ext-proc and health ports): written by the server, read by any
// EPP thread.
#include <atomic>
#include <cstdint>
#include <string_view>

namespace ringgate::epp {

struct HealthBoard {
  enum class Status : uint8_t { Serving = 1, NotServing = 2, ServiceUnknown = 3 };

  std::atomic<bool> serving{false};
  std::atomic<bool> stopping{false};  // open Watch streams are ended with their last status

  // "", "readiness", "inference-extension" (the inferencepool chart's probe) and the ext-proc
  // service follow `serving`; "liveness" is Serving while the server runs (as GAIE's).
  Status status_of(std::string_view service) const;
};

}  // namespace ringgate::epp
