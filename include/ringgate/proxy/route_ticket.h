#pragma once
// What one routed leg holds at its endpoint, from the route() that picked it (and hands
// it back in its Routed, below) to the leg's end: the in-flight slot (route() counted it),
// the token load and the pending prefill tokens it adds there once sent, the prompt's
// prefix hashes it records there, and a generation number. Move-only: owned by exactly
// one leg (an Attempt, a prefill leg's Attempt, a decode reservation, an EPP-mode remote
// prefill) and given back exactly once, by release() or the destructor. Nothing else
// pairs the router's counters: every "sent" has its "done" here.
//
// The generation names one connection of the leg: a fresh connection for the same try
// (renew()) is a new generation, so an upstream connection tells a new lease from the
// one it called back (RequestImage::generation), whatever the addresses.
#include <cstdint>
#include <span>
#include <vector>

#include "ringgate/proxy/request_router.h"

namespace ringgate::proxy {

class RouteService;  // (exchange_env.h: it returns Routed)
struct Routed;

class RouteTicket {
 public:
  RouteTicket() = default;  // holds nothing
  RouteTicket(RouteTicket&& other) noexcept;
  RouteTicket& operator=(RouteTicket&& other) noexcept;
  RouteTicket(const RouteTicket&) = delete;
  RouteTicket& operator=(const RouteTicket&) = delete;
  ~RouteTicket() { release(); }

  // THE record at this endpoint: the leg is sent there. Its prompt's prefix is recorded
  // there (unless record_prompt() did already), its token load counted, and its pending
  // prefill tokens until first_token() (awaiting since `awaiting_since_ms`, steady ms; 0:
  // not timed). Once per ticket; nothing when nothing is held.
  void record_at_endpoint(uint64_t awaiting_since_ms);
  // Only the prompt, ahead of the send (a split request's decode pick: its pod will hold
  // the blocks it pulls from the prefill pod); record_at_endpoint() does not record it again.
  void record_prompt();
  // The leg's first token came: its prefill is no longer pending there.
  void first_token();
  // THE release: what record_at_endpoint() counted, then the slot. A released (or moved
  // from) ticket holds nothing, and releasing it again does nothing.
  void release();

  bool held() const { return router_ != nullptr; }
  bool sent() const { return sent_; }
  uint32_t endpoint_id() const { return endpoint_id_; }
  bool sheddable() const { return sheddable_; }
  uint64_t generation() const { return generation_; }
  // A fresh connection for the same try: a new generation.
  void renew() { generation_ = next_generation(); }
  std::span<const uint64_t> prefix_hashes() const { return hashes_; }

 private:
  friend struct Routed;  // the one place a ticket is made from a decision
  // The slot `decision` holds (nothing when it did not route: status != 0), with its
  // token load, pending prefill tokens and prefix hashes (copied into a buffer the
  // router's earlier tickets gave back: the router's own go at its next route()).
  RouteTicket(RouteService& router, const RouteDecision& decision, bool sheddable);
  static uint64_t next_generation();

  RouteService* router_ = nullptr;  // null: nothing held
  uint32_t endpoint_id_ = 0;
  uint32_t load_tokens_ = 0;
  uint32_t prefill_tokens_ = 0;
  uint64_t awaiting_since_ms_ = 0;
  uint64_t generation_ = 0;
  bool sheddable_ = false;
  bool prompt_recorded_ = false;
  bool sent_ = false;      // record_at_endpoint() counted the load (and the prefill)
  bool awaiting_ = false;  // its pending prefill is counted
  // (Taken from router_'s spare buffers, and given back to them.)
  std::vector<uint64_t> hashes_;
};

// What route() and route_to() return (RouteService): the decision and the ticket of the
// slot it counted, taken at once where the slot was counted, so that no caller holds a
// counted slot bare (one that returns early gives it back by dropping this). Apart: the
// decision is a view (host, prefix hashes) valid until the router's next refresh() or
// route(); the ticket lives as long as the leg that takes it.
struct Routed {
  Routed() = default;
  // `decision`'s slot, just counted by `router`'s route() under `sheddable` (the route's
  // RouteRequest::sheddable: it is given back as it was counted); no slot when status != 0.
  Routed(RouteService& router, const RouteDecision& decision, bool sheddable)
      : decision(decision), ticket(router, decision, sheddable) {}
  bool ok() const { return decision.status == 0; }

  RouteDecision decision;
  RouteTicket ticket;  // empty when status != 0
};

}  // namespace ringgate::proxy
