#include "ringgate/sim/engine.h"

#include <algorithm>
#include <functional>
#include <limits>

namespace ringgate::sim {

Engine::Engine(const EngineConfig& config)
    : config_(config),
      kv_(config.kv_blocks, config.cpu_kv_blocks, config.block_size),
      counters_(config.max_model_len),
      lora_running_(config.num_loras, 0) {
  if (config.kv_events) kv_.record_events();
}

uint32_t Engine::blocks_for(uint64_t tokens) const {
  return static_cast<uint32_t>((tokens + config_.block_size - 1) / config_.block_size);
}

SubmitResult Engine::submit(SequenceRequest request, uint64_t now_ns) {
  if (request.output_tokens == 0) request.output_tokens = 1;
  // The whole sequence must fit in the cache, or it could never finish
  // (vLLM refuses to start when max_model_len does not fit; the API checks it).
  if (blocks_for(uint64_t(request.prompt_tokens) + request.output_tokens) > kv_.num_blocks())
    return {SubmitStatus::too_large, 0};
  if (config_.max_waiting > 0 && waiting_.size() >= config_.max_waiting &&
      !(waiting_.empty() && running() < config_.max_num_seqs))
    return {SubmitStatus::queue_full, 0};
  uint64_t id = next_id_++;
  Sequence& s = sequences_[id];
  s.request = std::move(request);
  s.arrival_ns = now_ns;
  waiting_.push_back(id);
  step_tokens_ = 0;
  schedule(now_ns);
  counters_.waiting_peak = std::max(counters_.waiting_peak, waiting());
  record_step(now_ns);
  return {SubmitStatus::accepted, id};
}

void Engine::schedule(uint64_t now_ns) {
  // vLLM's scheduler admits no waiting request in a step that preempted one.
  if (preempted_this_step_) return;
  for (auto it = waiting_.begin(); it != waiting_.end() && running() < config_.max_num_seqs;) {
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
  // KV for the prompt and, after a preemption, the output so far (recomputed).
  const uint64_t tokens = uint64_t(s.request.prompt_tokens) + s.next_token;
  const auto& hashes = s.request.block_hashes;
  // vLLM recomputes at least the last token: a hit covers at most (n-1)/B full blocks.
  const uint32_t max_cached = tokens > 0 ? static_cast<uint32_t>((tokens - 1) / config_.block_size) : 0;
  const uint32_t needed = std::max<uint32_t>(blocks_for(tokens), 1);
  const uint32_t hashed = static_cast<uint32_t>(std::min<size_t>(hashes.size(), needed));
  // vLLM's lora_id is the adapter's lora_int_id, counted from 1.
  const StoredBlockInfo info{s.request.block_tokens, config_.block_size,
                             s.request.lora >= 0 ? std::optional<int64_t>(s.request.lora + 1) : std::nullopt,
                             s.request.block_extra_keys};
  if (!kv_.allocate(std::span(hashes.data(), hashed), needed - hashed, s.kv, max_cached, &info)) return false;
  s.running = true;
  running_order_.push_back(id);
  counters_.running_peak = std::max(counters_.running_peak, running());
  if (s.request.lora >= 0 && lora_running_[s.request.lora]++ == 0) {
    ++active_loras_;
    load_lora(uint32_t(s.request.lora));
  }
  const uint32_t hit = std::min<uint32_t>(s.kv.cached_blocks * config_.block_size, uint32_t(tokens));
  // Pulled from a remote prefill (first scheduling only: a preempted sequence recomputes):
  // the tokens past the local hit, never the last one.
  uint32_t external = 0;
  if (!s.scheduled_once && tokens > 0) {
    const uint32_t remote = std::min<uint32_t>(s.request.remote_tokens, uint32_t(tokens - 1));
    if (remote > hit) external = remote - hit;
  }
  // Loaded from the CPU tier (allocate kept them within the last token's block): a preempted
  // sequence's too, since its blocks may have gone there.
  const uint32_t offloaded = s.kv.cpu_blocks * config_.block_size;
  if (offloaded > external) external = offloaded;
  if (!s.scheduled_once) {
    // vLLM counts a preempted request's second lookup apart (PrefixCacheStats.preempted_*),
    // not in vllm:prefix_cache_queries/hits.
    counters_.prefix_cache_queries += tokens;
    counters_.prefix_cache_hits += hit;
    if (config_.kv_connector) {
      counters_.external_prefix_cache_queries += tokens;
      counters_.external_prefix_cache_hits += external;
    }
    s.scheduled_once = true;
    s.first_scheduled_ns = now_ns;
    s.cached_tokens = hit + external;
  }
  s.start_ns = now_ns;
  s.resume_token = s.next_token;
  s.stall_ns = 0;
  s.prefill_left = static_cast<uint32_t>(tokens - hit - external);
  uint64_t load_ns = 0;
  if (offloaded > 0) {
    load_ns = config_.latency.kv_offload_load_ns(s.kv.cpu_blocks);
  } else if (external > 0) {
    const uint32_t pulled = blocks_for(uint64_t(hit) + external) - hit / config_.block_size;
    counters_.kv_blocks_transferred += pulled;
    load_ns = config_.latency.kv_transfer_ns(pulled);
    counters_.nixl_xfer_time.observe(double(load_ns) / 1e9);
  }
  if (load_ns > 0) {
    s.phase = Phase::loading;  // the pull is no compute: nothing waits for it but this sequence
    s.next_due_ns = now_ns + load_ns;
    push_timer(s.next_due_ns, id);
  } else {
    lane_enqueue(id, s, now_ns);
  }
  stepped_ = true;
  return true;
}

void Engine::lane_enqueue(uint64_t id, Sequence& s, uint64_t at_ns) {
  s.phase = Phase::prefilling;
  s.lane_ready_ns = at_ns;
  lane_.push_back(id);
  if (lane_current_ == 0) lane_start_next(at_ns);
}

void Engine::lane_start_next(uint64_t at_ns) {
  while (!lane_.empty()) {
    const uint64_t id = lane_.front();
    lane_.pop_front();
    auto it = sequences_.find(id);
    if (it == sequences_.end() || !it->second.running || it->second.phase != Phase::prefilling) continue;
    Sequence& s = it->second;
    const uint64_t start = std::max(at_ns, s.lane_ready_ns);
    const uint32_t chunk = std::min(s.prefill_left, config_.max_num_batched_tokens);
    s.prefill_left -= chunk;
    const uint64_t compute = config_.latency.prefill_tokens_ns(chunk);
    stall_decodes(start, compute);
    lane_current_ = id;
    lane_current_live_ = true;
    // A prompt longer than one chunk goes on in the next step: the decodes get a token in between.
    lane_free_ns_ = start + compute + (s.prefill_left > 0 ? config_.latency.inter_token_ns(1) : 0);
    if (lane_free_ns_ > start) return;
    complete_chunk();  // no time: done now (all-zero latencies answer at once)
    at_ns = start;
  }
  lane_current_ = 0;
}

void Engine::lane_chunk_done() {
  const uint64_t end = lane_free_ns_;
  complete_chunk();
  lane_start_next(end);
}

void Engine::complete_chunk() {
  const uint64_t end = lane_free_ns_;
  const uint64_t id = lane_current_;
  lane_current_ = 0;
  auto it = sequences_.find(id);
  if (lane_current_live_ && it != sequences_.end() && it->second.running && it->second.phase == Phase::prefilling) {
    Sequence& s = it->second;
    if (s.prefill_left > 0) {
      lane_.push_front(id);  // a partly prefilled sequence is scheduled first, as vLLM's running queue
      s.lane_ready_ns = end;
    } else {
      s.phase = Phase::decoding;
      s.run_base_ns = end + config_.latency.overhead_ns();
      s.next_due_ns = s.run_base_ns + config_.latency.inter_token_ns(1);
      push_timer(s.next_due_ns, id);
    }
  }
}

void Engine::stall_decodes(uint64_t at_ns, uint64_t delay_ns) {
  if (delay_ns == 0) return;
  for (uint64_t id : running_order_) {
    Sequence& s = sequences_.at(id);
    if (s.phase != Phase::decoding) continue;
    s.stall_ns += delay_ns;
    // A token already due before the chunk (not yet emitted: the chunk came in through
    // submit) belongs to an earlier step; the chunk delays the ones after it. So does the
    // first token of a run: vLLM samples it in the step that finished the prefill, and a
    // later prompt's chunk never delays it (its later tokens take the stall).
    if (s.next_due_ns <= at_ns || s.next_token == s.resume_token) continue;
    s.next_due_ns += delay_ns;
    push_timer(s.next_due_ns, id);
  }
}

void Engine::push_timer(uint64_t due_ns, uint64_t id) {
  timers_.push_back({due_ns, id});
  std::push_heap(timers_.begin(), timers_.end(), std::greater<Timer>());
}

void Engine::advance(uint64_t now_ns) {
  step_tokens_ = 0;
  stepped_ = false;
  preempted_this_step_ = false;
  expire_transfers(now_ns);
  schedule(now_ns);
  // Chunk ends and token timers, in time order (a chunk's start delays the decodes after it).
  while (true) {
    const uint64_t timer_due = timers_.empty() ? std::numeric_limits<uint64_t>::max() : timers_.front().due_ns;
    if (lane_current_ != 0 && lane_free_ns_ <= now_ns && lane_free_ns_ <= timer_due) {
      lane_chunk_done();
      continue;
    }
    if (timer_due > now_ns) break;
    Timer t = timers_.front();
    std::pop_heap(timers_.begin(), timers_.end(), std::greater<Timer>());
    timers_.pop_back();
    auto it = sequences_.find(t.id);
    if (it == sequences_.end() || !it->second.running || it->second.next_due_ns != t.due_ns) continue;
    Sequence& s = it->second;
    if (s.phase == Phase::loading) {
      lane_enqueue(t.id, s, t.due_ns);  // the pulled blocks are in: prefill the rest
      continue;
    }
    if (s.phase != Phase::decoding) continue;
    emit(t.id, s, t.due_ns, now_ns);
  }
  preempted_this_step_ = false;
  if (stepped_) record_step(now_ns);
}

void Engine::emit(uint64_t id, Sequence& s, uint64_t due_ns, uint64_t now_ns) {
  stepped_ = true;
  const uint32_t index = s.next_token++;
  ++counters_.generation_tokens;
  ++step_tokens_;
  // Times are measured from the token's due time, not from when the loop got
  // to it, so a busy loop does not inflate the simulated latencies.
  if (index == 0) {
    s.first_token_ns = due_ns;
    counters_.prompt_tokens += s.request.prompt_tokens;
    step_tokens_ += s.request.prompt_tokens;
    counters_.time_to_first_token.observe(double(due_ns - s.arrival_ns) / 1e9);
    if (s.request.n_param > 0) counters_.request_params_n.observe(s.request.n_param);
  } else {
    counters_.inter_token_latency.observe(double(due_ns - s.last_token_ns) / 1e9);
  }
  s.last_token_ns = due_ns;
  if (!s.request.observer->on_token(index)) {
    abort(id, s, now_ns);
    schedule(now_ns);
    return;
  }
  if (s.next_token >= s.request.output_tokens) {
    finish(id, s, due_ns);
    schedule(now_ns);
    return;
  }
  // The next step computes this token's KV: it may need a new block.
  if (!grow_or_preempt(id, s, uint64_t(s.request.prompt_tokens) + s.next_token)) return;
  s.next_due_ns = s.run_base_ns + s.stall_ns + config_.latency.inter_token_ns(s.next_token - s.resume_token + 1);
  push_timer(s.next_due_ns, id);
}

bool Engine::grow_or_preempt(uint64_t id, Sequence& s, uint64_t tokens) {
  const uint32_t needed = blocks_for(tokens);
  const uint32_t held = static_cast<uint32_t>(s.kv.blocks.size());
  if (needed <= held) return true;
  while (!kv_.grow(s.kv, needed - held)) {
    // vLLM v1 (FCFS): preempt the last running request, which may be this one.
    const uint64_t victim = running_order_.back();
    Sequence& v = sequences_.at(victim);
    preempt(victim, v);
    if (victim == id) return false;
  }
  return true;
}

void Engine::preempt(uint64_t id, Sequence& s) {
  release(id, s);
  ++counters_.num_preemptions;
  preempted_this_step_ = true;
  waiting_.push_front(id);  // recomputed first when blocks free up
  counters_.waiting_peak = std::max(counters_.waiting_peak, waiting());
}

void Engine::release(uint64_t id, Sequence& s) {
  if (!s.running) return;
  kv_.release(s.kv);
  s.kv.blocks.clear();
  s.kv.cached_blocks = 0;
  s.running = false;
  if (s.phase == Phase::prefilling) {
    if (lane_current_ == id) lane_current_live_ = false;  // the chunk already launched still takes its time
    else if (auto queued = std::find(lane_.begin(), lane_.end(), id); queued != lane_.end()) lane_.erase(queued);
  }
  running_order_.erase(std::find(running_order_.begin(), running_order_.end(), id));
  if (s.request.lora >= 0 && --lora_running_[s.request.lora] == 0) --active_loras_;
}

void Engine::finish(uint64_t id, Sequence& s, uint64_t now_ns) {
  SequenceResult result{s.request.prompt_tokens, s.cached_tokens, s.request.output_tokens, {}};
  // NixlConnector's request_finished holds the blocks of a length-capped do_remote_decode
  // request for the decoder; any other finish frees them at once.
  if (!s.request.hold_for_transfer.empty() && s.request.finish_reason == FinishReason::length) {
    hold(s, result.held_block_ids, now_ns);
    s.kv.blocks.clear();  // owned by the held transfer now
  }
  release(id, s);
  ++counters_.success[int(s.request.finish_reason)];
  // vLLM's FinishedRequestStats: queued = first scheduled - arrival, prefill =
  // first token - scheduled, decode = last token - first token, inference =
  // last token - scheduled.
  auto seconds = [](uint64_t from, uint64_t to) { return to > from ? double(to - from) / 1e9 : 0.0; };
  counters_.e2e_request_latency.observe(seconds(s.arrival_ns, now_ns));
  counters_.request_queue_time.observe(seconds(s.arrival_ns, s.first_scheduled_ns));
  counters_.request_prefill_time.observe(seconds(s.first_scheduled_ns, s.first_token_ns));
  counters_.request_decode_time.observe(seconds(s.first_token_ns, s.last_token_ns));
  counters_.request_inference_time.observe(seconds(s.first_scheduled_ns, s.last_token_ns));
  counters_.request_prompt_tokens.observe(s.request.prompt_tokens);
  counters_.request_generation_tokens.observe(s.request.output_tokens);
  counters_.request_time_per_output_token.observe(
      s.request.output_tokens > 1 ? seconds(s.first_token_ns, s.last_token_ns) / (s.request.output_tokens - 1) : 0.0);
  if (s.request.n_param > 0) {
    counters_.request_max_num_generation_tokens.observe(s.request.max_tokens_param);
    if (s.request.max_tokens_param) counters_.request_params_max_tokens.observe(s.request.max_tokens_param);
  }
  SequenceObserver* observer = s.request.observer;
  sequences_.erase(id);
  observer->on_finished(result);
}

void Engine::cancel(uint64_t id, uint64_t now_ns) {
  auto it = sequences_.find(id);
  if (it == sequences_.end()) return;
  abort(id, it->second, now_ns);
  schedule(now_ns);
  record_step(now_ns);
}

void Engine::abort(uint64_t id, Sequence& s, uint64_t now_ns) {
  if (s.running) {
    release(id, s);
  } else {
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), id));
  }
  ++counters_.success[int(FinishReason::abort)];
  counters_.e2e_request_latency.observe(double(now_ns - s.arrival_ns) / 1e9);
  sequences_.erase(id);
}

void Engine::record_step(uint64_t now_ns) {
  if (step_tokens_ > 0) counters_.iteration_tokens.observe(double(step_tokens_));
  step_tokens_ = 0;
  if (lora_running_.empty()) return;
  std::vector<uint32_t> run = running_loras(), wait = waiting_loras();
  for (auto& series : lora_series_) {
    if (series.running == run && series.waiting == wait) {
      series.updated_ns = now_ns;
      return;
    }
  }
  if (lora_series_.size() >= kMaxLoraSeries) {
    auto oldest = std::min_element(lora_series_.begin(), lora_series_.end(),
                                   [](const auto& a, const auto& b) { return a.updated_ns < b.updated_ns; });
    lora_series_.erase(oldest);
  }
  lora_series_.push_back({std::move(run), std::move(wait), now_ns});
}

uint64_t Engine::next_due_ns() const {
  // A preemption can leave admissions for the next step with nothing running.
  if (!waiting_.empty() && running_order_.empty()) return 0;
  uint64_t due = timers_.empty() ? std::numeric_limits<uint64_t>::max() : timers_.front().due_ns;
  if (lane_current_ != 0) due = std::min(due, lane_free_ns_);
  if (!held_.empty()) due = std::min(due, held_.front().expires_ns);
  return due;
}

void Engine::hold(Sequence& s, std::vector<uint32_t>& block_ids, uint64_t now_ns) {
  const std::string& request_id = s.request.hold_for_transfer;
  if (auto same = held_by_id_.find(request_id); same != held_by_id_.end()) {
    // A client reused the id: the older blocks could never be told apart, so they go.
    kv_.release(same->second->kv);
    held_.erase(same->second);
    held_by_id_.erase(same);
  }
  block_ids = s.kv.blocks;
  held_.push_back({request_id, std::move(s.kv), now_ns + config_.held_transfer_timeout_ns});
  held_by_id_[request_id] = std::prev(held_.end());
  ++counters_.kv_transfers_held;
  while (held_.size() > config_.max_held_transfers) {
    kv_.release(held_.front().kv);
    held_by_id_.erase(held_.front().request_id);
    held_.pop_front();
    ++counters_.kv_transfers_evicted;
  }
}

void Engine::expire_transfers(uint64_t now_ns) {
  while (!held_.empty() && held_.front().expires_ns <= now_ns) {
    kv_.release(held_.front().kv);
    held_by_id_.erase(held_.front().request_id);
    held_.pop_front();
    ++counters_.kv_transfers_expired;
  }
}

std::optional<uint32_t> Engine::release_transfer(std::string_view request_id, uint64_t now_ns) {
  expire_transfers(now_ns);
  auto it = held_by_id_.find(std::string(request_id));
  if (it == held_by_id_.end()) return std::nullopt;
  const uint32_t blocks = static_cast<uint32_t>(it->second->kv.blocks.size());
  kv_.release(it->second->kv);
  held_.erase(it->second);
  held_by_id_.erase(it);
  ++counters_.kv_transfers_served;
  // Freed blocks may let a waiting request in.
  step_tokens_ = 0;
  schedule(now_ns);
  record_step(now_ns);
  return blocks;
}

void Engine::load_lora(uint32_t lora) {
  auto it = std::find(lora_slots_.begin(), lora_slots_.end(), lora);
  if (it != lora_slots_.end()) {
    std::rotate(lora_slots_.begin(), it, it + 1);  // still loaded: most recent now
    return;
  }
  ++counters_.lora_swaps;
  lora_slots_.insert(lora_slots_.begin(), lora);
  // Evict the least recently activated adapter that runs nothing (schedule() admits a new
  // adapter only while fewer than max_loras run, so there is one).
  while (lora_slots_.size() > std::max<uint32_t>(config_.max_loras, 1)) {
    auto idle = std::find_if(lora_slots_.rbegin(), lora_slots_.rend(), [&](uint32_t a) { return lora_running_[a] == 0; });
    if (idle == lora_slots_.rend()) break;
    lora_slots_.erase(std::next(idle).base());
  }
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
