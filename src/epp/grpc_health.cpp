#include "ringgate/epp/grpc_health.h"

namespace ringgate::epp {

HealthBoard::Status HealthBoard::status_of(std::string_view service) const {
  if (service == "liveness") return Status::Serving;
  if (service.empty() || service == "readiness" || service == "inference-extension" ||
      service == "envoy.service.ext_proc.v3.ExternalProcessor")
    return serving.load(std::memory_order_relaxed) ? Status::Serving : Status::NotServing;
  return Status::ServiceUnknown;
}

}  // namespace ringgate::epp
