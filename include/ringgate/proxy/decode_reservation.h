#pragma once
// A split request's decode pick while its prefill leg runs (llm-d's P/D): the decision
// (its host's text copied: the snapshot it points into may go), the in-flight slot claimed
// there (its load is coming, the prompt is recorded there already), and when the decode
// leg began. The decode leg's Attempt takes the slot; a request that ends before gives it
// back by dropping the reservation.
#include <cstdint>
#include <string>

#include "ringgate/proxy/slot_claim.h"

namespace ringgate::proxy {

class DecodeReservation {
 public:
  // Holds `decode` and its slot until the prefill leg is over.
  void hold(const RouteDecision& decode, SlotClaim slot) {
    decision_ = decode;
    host_.assign(decode.endpoint_host);
    decision_.endpoint_host = host_;
    slot_ = std::move(slot);
  }
  bool waiting() const { return slot_.held(); }
  const RouteDecision& decision() const { return decision_; }
  // The decode leg begins (at now_ms): its attempt takes the slot.
  SlotClaim begin_decode(uint64_t now_ms) {
    started_ms_ = now_ms;
    return std::move(slot_);
  }
  uint64_t decode_started_ms() const { return started_ms_; }
  // The request ended while the prefill leg ran: the slot goes back.
  void drop() { slot_ = SlotClaim(); }

 private:
  RouteDecision decision_;
  std::string host_;
  SlotClaim slot_;
  uint64_t started_ms_ = 0;
};

}  // namespace ringgate::proxy
