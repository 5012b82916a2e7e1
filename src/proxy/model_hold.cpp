#include "ringgate/proxy/model_hold.h"

#include <algorithm>

namespace ringgate::proxy {

FlowQueue* ModelHold::hold(FlowWaiter* waiter, std::string_view model, int32_t priority, std::string_view flow_id,
                           uint64_t bytes, const FlowLimits& limits, uint64_t now_ms) {
  // The total bounds hold for every held model together (each queue checks its own too).
  if (size() + 1 > limits.total.max_requests || bytes > limits.total.max_bytes ||
      this->bytes() + bytes > limits.total.max_bytes)
    return nullptr;
  FlowQueue* queue = nullptr;
  for (Held& h : queues_)
    if (h.model == model) queue = h.queue.get();
  if (queue == nullptr) {
    if (!cycling_) compact();
    if (queues_.size() >= kMaxModels) return nullptr;
    const size_t slot = size_t(std::find(slot_used_.begin(), slot_used_.end(), false) - slot_used_.begin());
    slot_used_[slot] = true;  // queues_ holds fewer than kMaxModels: one is free
    if (published_) published_->open(slot, model);
    queues_.push_back(Held{std::string(model), std::make_unique<FlowQueue>(), slot});
    queue = queues_.back().queue.get();
  }
  if (!queue->enqueue(waiter, priority, flow_id, bytes, limits, now_ms, /*offer=*/false)) return nullptr;
  publish();
  return queue;
}

void ModelHold::dispatch() {
  if (cycling_) return;
  cycling_ = true;
  // By index: a callback may hold another model's request (appended, never erased now).
  for (size_t i = 0; i < queues_.size(); ++i)
    if (!queues_[i].queue->empty()) queues_[i].queue->dispatch();
  cycling_ = false;
  compact();
}

void ModelHold::expire(uint64_t now_ms, uint64_t ttl_ms) {
  if (cycling_) return;
  cycling_ = true;
  for (size_t i = 0; i < queues_.size(); ++i)
    if (!queues_[i].queue->empty()) queues_[i].queue->expire(now_ms, ttl_ms);
  cycling_ = false;
  compact();
}

void ModelHold::compact() {
  std::erase_if(queues_, [this](const Held& h) {
    if (!h.queue->empty()) return false;
    slot_used_[h.slot] = false;
    if (published_) published_->set_held(h.slot, 0);
    return true;
  });
  publish();
}

void ModelHold::publish() {
  if (published_ == nullptr) return;
  for (const Held& h : queues_) published_->set_held(h.slot, int64_t(h.queue->size()));
}

bool ModelHold::empty() const {
  return std::all_of(queues_.begin(), queues_.end(), [](const Held& h) { return h.queue->empty(); });
}

uint64_t ModelHold::size() const {
  uint64_t n = 0;
  for (const Held& h : queues_) n += h.queue->size();
  return n;
}

uint64_t ModelHold::bytes() const {
  uint64_t n = 0;
  for (const Held& h : queues_) n += h.queue->bytes();
  return n;
}

}  // namespace ringgate::proxy
