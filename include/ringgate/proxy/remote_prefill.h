#pragma once
// The prefill pod's share of a request split in EPP mode. There llm-d's routing sidecar on
// the decode pod sends the prefill leg, which the EPP never sees; the EPP only names the pod.
// So that the pod's in-flight slot, token load and pending prefill count as they do when the
// gateway sends the leg itself (PrefillLeg's Attempt), they are held here from the decision
// until the decode pod's answer begins (the sidecar starts the decode leg only once the
// prefill has answered) or the request ends, whichever comes first.
#include <cstdint>

#include "ringgate/proxy/exchange_env.h"
#include "ringgate/proxy/request_router.h"
#include "ringgate/proxy/slot_claim.h"
#include "ringgate/util/monotonic_clock.h"

namespace ringgate::proxy {

class RemotePrefill {
 public:
  explicit RemotePrefill(ExchangeEnv& env) : env_(env) {}
  ~RemotePrefill() { end(); }
  RemotePrefill(const RemotePrefill&) = delete;
  RemotePrefill& operator=(const RemotePrefill&) = delete;

  // `slot` is `decision`'s (the prefill pick's), counted from now on.
  void begin(SlotClaim slot, const RouteDecision& decision) {
    end();
    slot_ = std::move(slot);
    endpoint_id_ = decision.endpoint_id;
    prefill_tokens_ = pending_prefill_tokens(decision);
    sent_ms_ = util::steady_ns() / 1000000;
    load_tokens_ = decision.load_tokens;
    env_.router->prefill_sent(endpoint_id_, prefill_tokens_, sent_ms_);
    env_.router->load_sent(endpoint_id_, load_tokens_);
  }
  // Everything begin() counted is given back (once; nothing when nothing is held).
  void end() {
    if (!slot_.held()) return;
    env_.router->prefill_done(endpoint_id_, prefill_tokens_, sent_ms_);
    env_.router->load_done(endpoint_id_, load_tokens_);
    slot_.release();
  }

 private:
  ExchangeEnv& env_;
  SlotClaim slot_;
  uint32_t endpoint_id_ = 0;
  uint32_t prefill_tokens_ = 0;
  uint32_t load_tokens_ = 0;
  uint64_t sent_ms_ = 0;
};

}  // namespace ringgate::proxy
