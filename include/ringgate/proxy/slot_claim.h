#pragma once
// The in-flight slot a routed request holds at its endpoint (RouteService::route() counts
// it when it decides): owned by exactly one object at a time and given back exactly once,
// when its owner lets it go. Move-only, so that a copy of a decision can never give the
// same slot back twice; an Attempt takes one when it opens, a decode reservation holds one
// while its prefill leg runs.
#include <cstdint>
#include <utility>

#include "ringgate/proxy/exchange_env.h"

namespace ringgate::proxy {

class SlotClaim {
 public:
  SlotClaim() = default;
  // The slot `decision` holds (none when it did not route: status != 0).
  SlotClaim(RouteService& router, const RouteDecision& decision, bool sheddable)
      : router_(decision.status == 0 ? &router : nullptr), endpoint_id_(decision.endpoint_id), sheddable_(sheddable) {}
  SlotClaim(SlotClaim&& other) noexcept
      : router_(std::exchange(other.router_, nullptr)), endpoint_id_(other.endpoint_id_), sheddable_(other.sheddable_) {}
  SlotClaim& operator=(SlotClaim&& other) noexcept {
    if (this != &other) {
      release();
      router_ = std::exchange(other.router_, nullptr);
      endpoint_id_ = other.endpoint_id_;
      sheddable_ = other.sheddable_;
    }
    return *this;
  }
  SlotClaim(const SlotClaim&) = delete;
  SlotClaim& operator=(const SlotClaim&) = delete;
  ~SlotClaim() { release(); }

  // THE place a slot goes back; a claim released (or moved from) holds nothing.
  void release() {
    if (RouteService* router = std::exchange(router_, nullptr)) router->released(endpoint_id_, sheddable_);
  }
  bool held() const { return router_ != nullptr; }
  uint32_t endpoint_id() const { return endpoint_id_; }
  bool sheddable() const { return sheddable_; }

 private:
  RouteService* router_ = nullptr;  // null: nothing held
  uint32_t endpoint_id_ = 0;
  bool sheddable_ = false;
};

}  // namespace ringgate::proxy
