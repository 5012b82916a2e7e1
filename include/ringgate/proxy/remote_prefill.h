#pragma once
// The prefill pod's share of a request split in EPP mode. There llm-d's routing sidecar on
// the decode pod sends the prefill leg, which the EPP never sees; the EPP only names the pod.
// So that the pod's in-flight slot, token load and pending prefill count as they do when the
// gateway sends the leg itself (PrefillLeg's Attempt), the prefill pick's ticket is held here,
// recorded at the pod, from the decision until the decode pod's answer begins (the sidecar
// starts the decode leg only once the prefill has answered) or the request ends, whichever
// comes first.
#include <cstdint>

#include "ringgate/proxy/route_ticket.h"
#include "ringgate/util/monotonic_clock.h"

namespace ringgate::proxy {

class RemotePrefill {
 public:
  // `ticket` is the prefill pick's, recorded at its pod from now on.
  void begin(RouteTicket ticket) {
    ticket_ = std::move(ticket);
    ticket_.record_at_endpoint(util::steady_ns() / 1000000);
  }
  // Everything begin() counted is given back (once; nothing when nothing is held).
  void end() { ticket_.release(); }
  bool held() const { return ticket_.held(); }

 private:
  RouteTicket ticket_;
};

}  // namespace ringgate::proxy
