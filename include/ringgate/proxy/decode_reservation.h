#pragma once
// A split request's decode pick while its prefill leg runs (llm-d's P/D): the decision
// (its host's text copied: the snapshot it points into may go), its routing ticket (the
// slot claimed there, its load is coming; the prompt is recorded there at once: the pod
// will hold the blocks it pulls), and when the decode leg began. The decode leg's Attempt
// takes the ticket; a request that ends before gives it back by dropping the reservation.
#include <cstdint>
#include <string>

#include "ringgate/proxy/route_ticket.h"

namespace ringgate::proxy {

class DecodeReservation {
 public:
  // Holds `decode` and its ticket until the prefill leg is over.
  void hold(const RouteDecision& decode, RouteTicket ticket) {
    decision_ = decode;
    host_.assign(decode.endpoint_host);
    decision_.endpoint_host = host_;
    decision_.prefix_hashes = {};  // (the router's scratch: the ticket has its own)
    ticket_ = std::move(ticket);
    ticket_.record_prompt();
  }
  bool waiting() const { return ticket_.held(); }
  const RouteDecision& decision() const { return decision_; }
  // The decode leg begins (at now_ms): its attempt takes the ticket.
  RouteTicket begin_decode(uint64_t now_ms) {
    started_ms_ = now_ms;
    return std::move(ticket_);
  }
  uint64_t decode_started_ms() const { return started_ms_; }
  // The request ended while the prefill leg ran: the ticket goes back.
  void drop() { ticket_.release(); }

 private:
  RouteDecision decision_;
  std::string host_;
  RouteTicket ticket_;
  uint64_t started_ms_ = 0;
};

}  // namespace ringgate::proxy
