#pragma once
// One request split into a prefill and a decode leg (llm-d's P/D): the prefix-based decider
// (a prompt whose uncached part on the decode pick is long is prefilled on a prefill pod
// first), then, in gateway mode, the prefill leg (PrefillLeg) while the decode pick waits
// in its DecodeReservation, and the decode leg's body with the prefill's
// kv_transfer_params; in EPP mode the decode pod's sidecar sends the prefill leg and the
// prefill pod's share is held here (RemotePrefill) until the decode pod answers. The
// Exchange sends the decode leg as any attempt, when told (SplitOwner::decode_ready).
#include <cstdint>
#include <span>
#include <string_view>

#include "ringgate/http/request_parser.h"
#include "ringgate/openai/api_routes.h"
#include "ringgate/proxy/admission.h"
#include "ringgate/proxy/decode_reservation.h"
#include "ringgate/proxy/dispatcher.h"
#include "ringgate/proxy/exchange_env.h"
#include "ringgate/proxy/leg_body.h"
#include "ringgate/proxy/prefill_leg.h"
#include "ringgate/proxy/remote_prefill.h"
#include "ringgate/proxy/request_identity.h"
#include "ringgate/proxy/request_stats.h"

namespace ringgate::proxy {

// What a split asks of its exchange.
class SplitOwner {
 public:
  virtual ~SplitOwner() = default;
  // The prefill is over (or never ran): the decode leg goes to `decision`, holding
  // `ticket`, with the LegBody's body when it carries the prefill's params, else the client's.
  virtual void decode_ready(const RouteDecision& decision, RouteTicket ticket) = 0;
};

class PdSplit final : public PrefillOwner {
 public:
  // `leg_body`: the request's (the prefill and decode legs' bodies are built in it).
  PdSplit(ExchangeEnv& env, SplitOwner& owner, Dispatcher& dispatcher, RequestStats& stats, RequestIdentity& identity,
          LegBody& leg_body, const Admission& admission)
      : env_(env),
        owner_(owner),
        dispatcher_(dispatcher),
        stats_(stats),
        identity_(identity),
        leg_body_(leg_body),
        admission_(admission),
        prefill_(env, *this) {}
  PdSplit(const PdSplit&) = delete;
  PdSplit& operator=(const PdSplit&) = delete;

  // A new request (`request` stays put until it ends): not split.
  void begin(const http::Request& request, const openai::ApiRoute& route);
  // The decider, on the request's first pick (`decode`, holding `decode_ticket`). true:
  // split, and the decode leg waits for the prefill (decode_ticket moved into the
  // reservation; decode_ready() follows, maybe before this returns); false: the decode
  // pick goes now (in EPP mode maybe split all the same: split() says).
  bool decide(const RouteDecision& decode, RouteTicket& decode_ticket);
  bool split() const { return split_; }  // decided prefill-decode
  // The decode pod answered: in EPP mode the sidecar's prefill leg is over.
  void decode_answered() { remote_prefill_.end(); }
  // The request is over however it ended: the prefill leg stopped (its pod frees what it
  // held), what the legs held given back, the decode leg's duration observed.
  void end();

  // PrefillOwner
  Routed route_prefill(std::span<const uint32_t> exclude) override;
  void prefill_done(std::string_view kv_transfer_params) override;

 private:
  ExchangeEnv& env_;
  SplitOwner& owner_;
  Dispatcher& dispatcher_;
  RequestStats& stats_;
  RequestIdentity& identity_;
  LegBody& leg_body_;
  const Admission& admission_;
  const http::Request* request_ = nullptr;
  const openai::ApiRoute* route_ = nullptr;
  bool split_ = false;
  PrefillLeg prefill_;
  RemotePrefill remote_prefill_;  // EPP mode: the prefill pod named, its leg sent by the sidecar
  DecodeReservation decode_;      // gateway mode: the decode pick while the prefill leg runs
};

}  // namespace ringgate::proxy
