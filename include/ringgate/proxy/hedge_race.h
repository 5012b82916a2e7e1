#pragma once
// A hedged prefill's race (proxy/hedging.h is its policy): the request's two attempts,
// the first pick's and the hedge's, and which of them the client hears (the lead). While
// they race, each side's answer is held (the client's head as built for it, its bytes so
// far); the first to hold a whole event wins, and its rival is cancelled. Without a hedge
// the race is just its primary attempt, the lead. Each try is its own Attempt, made
// afresh in its side's storage (next_primary(), next_hedge()): nothing of an earlier
// try's state survives into a retry, and nothing is allocated for it.
#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ringgate/http/body_buffer.h"
#include "ringgate/proxy/attempt.h"
#include "ringgate/proxy/client_response.h"
#include "ringgate/proxy/hedging.h"
#include "ringgate/proxy/worker_counters.h"

namespace ringgate::proxy {

// One racing attempt's answer, held until the race is decided.
struct RaceSide {
  ClientResponse response;  // as the exchange started it for this side
  std::string head;         // the client's head built for it (empty: no 2xx head yet)
  std::string held;         // its body bytes so far
};

class HedgeRace {
 public:
  HedgeRace(ExchangeEnv& env, AttemptOwner& owner)
      : env_(env), owner_(owner), primary_(std::in_place, env, owner), hedge_(std::in_place, env, owner) {}
  HedgeRace(const HedgeRace&) = delete;
  HedgeRace& operator=(const HedgeRace&) = delete;

  // A new request: its primary attempt leads, nothing races.
  void reset() {
    lead_ = &*primary_;
    racing_ = false;
  }
  // A new try of the primary (a first attempt, a retry, a continuation, a decode leg): a
  // fresh Attempt, the lead. The one before it must have ended.
  Attempt& next_primary() { return *(lead_ = &fresh(primary_)); }
  // The hedge's try: a fresh Attempt beside the primary.
  Attempt& next_hedge() { return fresh(hedge_); }
  Attempt& primary() { return *primary_; }
  Attempt& hedge() { return *hedge_; }
  Attempt& lead() { return *lead_; }
  const Attempt& lead() const { return *lead_; }
  bool racing() const { return racing_; }
  bool connected() const { return primary_->connected() || hedge_->connected(); }
  bool is_hedge(const Attempt& attempt) const { return &attempt == &*hedge_; }
  Attempt& rival(const Attempt& attempt) { return is_hedge(attempt) ? *primary_ : *hedge_; }
  HedgeResult won_by(const Attempt& attempt) const {
    return is_hedge(attempt) ? HedgeResult::Hedge : HedgeResult::Primary;
  }
  RaceSide& side(const Attempt& attempt) { return sides_[is_hedge(attempt) ? 1 : 0]; }
  // The hedge's own copy of the client's body (each attempt's send owns what it reads).
  http::BodyBuffer& hedge_body() { return hedge_body_; }

  // The hedge opened: the race is on.
  void begin();
  // A racing side's body bytes: true when they decide the race (for that side).
  bool hold(const Attempt& attempt, std::string_view decoded);
  // The race is over: `kept` leads alone, its rival is cancelled (the client's body stays
  // for the primary, a copy if the kernel may still read it). Counted by `result`.
  // Returns kept's held answer (its head empty: nothing to hand over).
  RaceSide& end(Attempt& kept, HedgeResult result);
  // The request lets its lead go (a race still on is abandoned first).
  void end_lead(bool reusable, bool keep_body);

 private:
  Attempt& fresh(std::optional<Attempt>& side) {
    assert(!side->active() && !side->connected() && "a new try before the last one ended");
    return side.emplace(env_, owner_);
  }

  ExchangeEnv& env_;
  AttemptOwner& owner_;
  std::optional<Attempt> primary_;  // always holds one: the current or last try
  std::optional<Attempt> hedge_;
  Attempt* lead_ = &*primary_;  // whose answer the client gets (or, while racing, the first pick)
  http::BodyBuffer hedge_body_;
  RaceSide sides_[2];  // [0] primary_, [1] hedge_
  bool racing_ = false;
};

}  // namespace ringgate::proxy
