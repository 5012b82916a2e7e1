#include "ringgate/sim/engine.h"

#include <algorithm>
#include <functional>
#include <limits>

namespace ringgate::sim {

Engine::Engine(const EngineConfig& config)
    : config_(config), kv_(config.kv_blocks), lora_running_(config.num_loras, 0) {}

uint32_t Engine::blocks_needed(const SequenceRequest& r) const {
  uint64_t tokens = uint64_t(r.prompt_tokens) + r.output_tokens;
  return static_cast<uint32_t>((tokens + config_.block_size - 1) / config_.block_size);
}

SubmitResult Engine::submit(SequenceRequest request, uint64_t now_ns) {
  if (blocks_needed(request) > kv_.num_blocks()) return {SubmitStatus::too_large, 0};
  if (request.output_tokens == 0) request.output_tokens = 1;
  bool could_start_now = waiting_.empty() && running_ < config_.max_num_seqs;
  if (!could_start_now && waiting_.size() >= config_.max_waiting) return {SubmitStatus::queue_full, 0};
  uint64_t id = next_id_++;
  Sequence& s = sequences_[id];
  s.request = std::move(request);
  s.arrival_ns = now_ns;
  waiting_.push_back(id);
  schedule(now_ns);
  return {SubmitStatus::accepted, id};
}

void Engine::schedule(uint64_t now_ns) {
  for (auto it = waiting_.begin(); it != waiting_.end() && running_ < config_.max_num_seqs;) {
    Sequence& s = sequences_.at(*it);
    int32_t lora = s.request.lora;
    if (lora >= 0 && lora_running_[lora] == 0 && active_loras_ >= config_.max_loras) {
      ++it;  // its adapter cannot be loaded yet; later requests may still run (as vLLM)
      continue;
    }
    if (!try_start(*it, s, now_ns)) break;  // no KV blocks: the queue head waits
    it = waiting_.erase(it);
  }
}

bool Engine::try_start(uint64_t id, Sequence& s, uint64_t now_ns) {
  const auto& hashes = s.request.block_hashes;
  uint32_t extra = blocks_needed(s.request) - static_cast<uint32_t>(hashes.size());
  if (!kv_.allocate(hashes, extra, s.kv)) return false;
  s.running = true;
  ++running_;
  if (s.request.lora >= 0 && lora_running_[s.request.lora]++ == 0) ++active_loras_;
  s.cached_tokens = std::min(s.kv.cached_blocks * config_.block_size, s.request.prompt_tokens);
  counters_.prefix_cache_queries += s.request.prompt_tokens;
  counters_.prefix_cache_hits += s.cached_tokens;
  counters_.prompt_tokens += s.request.prompt_tokens;
  s.start_ns = now_ns;
  s.prefill_ns = config_.latency.prefill_ns(s.request.prompt_tokens - s.cached_tokens);
  s.next_token = 0;
  s.next_due_ns = now_ns + config_.latency.token_due_ns(s.prefill_ns, 0);
  push_timer(s.next_due_ns, id);
  return true;
}

void Engine::push_timer(uint64_t due_ns, uint64_t id) {
  timers_.push_back({due_ns, id});
  std::push_heap(timers_.begin(), timers_.end(), std::greater<Timer>());
}

void Engine::advance(uint64_t now_ns) {
  schedule(now_ns);
  while (!timers_.empty() && timers_.front().due_ns <= now_ns) {
    Timer t = timers_.front();
    std::pop_heap(timers_.begin(), timers_.end(), std::greater<Timer>());
    timers_.pop_back();
    auto it = sequences_.find(t.id);
    if (it == sequences_.end() || !it->second.running || it->second.next_due_ns != t.due_ns) continue;
    Sequence& s = it->second;
    uint32_t index = s.next_token++;
    ++counters_.generation_tokens;
    // Times are measured from the token's due time, not from when the loop got
    // to it, so a busy loop does not inflate the simulated latencies.
    if (index == 0) counters_.time_to_first_token.observe(double(t.due_ns - s.arrival_ns) / 1e9);
    s.request.observer->on_token(index);
    if (s.next_token >= s.request.output_tokens) {
      finish(t.id, s, t.due_ns);
      schedule(now_ns);
    } else {
      s.next_due_ns = s.start_ns + config_.latency.token_due_ns(s.prefill_ns, s.next_token);
      push_timer(s.next_due_ns, t.id);
    }
  }
}

void Engine::release(Sequence& s) {
  if (!s.running) return;
  kv_.release(s.kv);
  s.running = false;
  --running_;
  if (s.request.lora >= 0 && --lora_running_[s.request.lora] == 0) --active_loras_;
}

void Engine::finish(uint64_t id, Sequence& s, uint64_t now_ns) {
  release(s);
  SequenceResult result{s.request.prompt_tokens, s.cached_tokens, s.request.output_tokens};
  ++counters_.success[int(s.request.finish_reason)];
  counters_.e2e_request_latency.observe(double(now_ns - s.arrival_ns) / 1e9);
  SequenceObserver* observer = s.request.observer;
  sequences_.erase(id);
  observer->on_finished(result);
}

void Engine::cancel(uint64_t id, uint64_t now_ns) {
  auto it = sequences_.find(id);
  if (it == sequences_.end()) return;
  Sequence& s = it->second;
  if (s.running) {
    release(s);
  } else {
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), id));
  }
  ++counters_.success[int(FinishReason::abort)];
  counters_.e2e_request_latency.observe(double(now_ns - s.arrival_ns) / 1e9);
  sequences_.erase(it);
  schedule(now_ns);
}

uint64_t Engine::next_due_ns() const {
  return timers_.empty() ? std::numeric_limits<uint64_t>::max() : timers_.front().due_ns;
}

std::vector<uint32_t> Engine::running_loras() const {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < lora_running_.size(); ++i)
    if (lora_running_[i] > 0) out.push_back(i);
  return out;
}

std::vector<uint32_t> Engine::waiting_loras() const {
  std::vector<bool> seen(lora_running_.size(), false);
  for (uint64_t id : waiting_) {
    int32_t lora = sequences_.at(id).request.lora;
    if (lora >= 0) seen[lora] = true;
  }
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < seen.size(); ++i)
    if (seen[i]) out.push_back(i);
  return out;
}

}  // namespace ringgate::sim
