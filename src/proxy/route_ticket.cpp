#include "ringgate/proxy/route_ticket.h"

#include <utility>

#include "ringgate/proxy/exchange_env.h"

namespace ringgate::proxy {

namespace {

// The spare hash buffers a router keeps: enough for a burst of legs ending at once, none
// larger than a 256 KiB prompt's (a longer one's buffer is freed with its ticket).
constexpr size_t kSpareBuffers = 64;
constexpr size_t kSpareHashes = 4096;

}  // namespace

uint64_t RouteTicket::next_generation() {
  // Per worker thread: a worker's connections only ever see its own tickets.
  static thread_local uint64_t last = 0;
  return ++last;
}

RouteTicket::RouteTicket(RouteService& router, const RouteDecision& decision, bool sheddable)
    : router_(decision.status == 0 ? &router : nullptr),
      endpoint_id_(decision.endpoint_id),
      load_tokens_(decision.load_tokens),
      prefill_tokens_(pending_prefill_tokens(decision)),
      generation_(next_generation()),
      sheddable_(sheddable) {
  if (router_ == nullptr || decision.prefix_hashes.empty()) return;
  std::vector<std::vector<uint64_t>>& spare = router_->spare_hashes_;
  if (!spare.empty()) {
    hashes_.swap(spare.back());
    spare.pop_back();
  }
  hashes_.assign(decision.prefix_hashes.begin(), decision.prefix_hashes.end());
}

RouteTicket::RouteTicket(RouteTicket&& other) noexcept
    : router_(std::exchange(other.router_, nullptr)),
      endpoint_id_(other.endpoint_id_),
      load_tokens_(other.load_tokens_),
      prefill_tokens_(other.prefill_tokens_),
      awaiting_since_ms_(other.awaiting_since_ms_),
      generation_(other.generation_),
      sheddable_(other.sheddable_),
      prompt_recorded_(std::exchange(other.prompt_recorded_, false)),
      sent_(std::exchange(other.sent_, false)),
      awaiting_(std::exchange(other.awaiting_, false)),
      hashes_(std::move(other.hashes_)) {}

RouteTicket& RouteTicket::operator=(RouteTicket&& other) noexcept {
  if (this == &other) return *this;
  release();
  router_ = std::exchange(other.router_, nullptr);
  endpoint_id_ = other.endpoint_id_;
  load_tokens_ = other.load_tokens_;
  prefill_tokens_ = other.prefill_tokens_;
  awaiting_since_ms_ = other.awaiting_since_ms_;
  generation_ = other.generation_;
  sheddable_ = other.sheddable_;
  prompt_recorded_ = std::exchange(other.prompt_recorded_, false);
  sent_ = std::exchange(other.sent_, false);
  awaiting_ = std::exchange(other.awaiting_, false);
  hashes_ = std::move(other.hashes_);  // (release() gave this one's back)
  other.hashes_.clear();
  return *this;
}

void RouteTicket::record_prompt() {
  if (router_ == nullptr || prompt_recorded_) return;
  prompt_recorded_ = true;
  router_->routed(endpoint_id_, hashes_);
}

void RouteTicket::record_at_endpoint(uint64_t awaiting_since_ms) {
  if (router_ == nullptr || sent_) return;
  record_prompt();
  sent_ = true;
  awaiting_ = true;
  awaiting_since_ms_ = awaiting_since_ms;
  router_->prefill_sent(endpoint_id_, prefill_tokens_, awaiting_since_ms_);
  router_->load_sent(endpoint_id_, load_tokens_);
}

void RouteTicket::first_token() {
  if (router_ == nullptr || !awaiting_) return;
  awaiting_ = false;
  router_->prefill_done(endpoint_id_, prefill_tokens_, awaiting_since_ms_);
}

void RouteTicket::release() {
  RouteService* router = std::exchange(router_, nullptr);
  if (router == nullptr) return;
  if (awaiting_) router->prefill_done(endpoint_id_, prefill_tokens_, awaiting_since_ms_);
  if (sent_) router->load_done(endpoint_id_, load_tokens_);
  router->released(endpoint_id_, sheddable_);
  awaiting_ = false;
  sent_ = false;
  prompt_recorded_ = false;
  std::vector<std::vector<uint64_t>>& spare = router->spare_hashes_;
  if (hashes_.capacity() == 0 || hashes_.capacity() > kSpareHashes || spare.size() >= kSpareBuffers) {
    hashes_ = {};
    return;
  }
  if (spare.capacity() == 0) spare.reserve(kSpareBuffers);
  hashes_.clear();
  spare.push_back(std::move(hashes_));
  hashes_ = {};
}

}  // namespace ringgate::proxy
