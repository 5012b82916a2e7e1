// The simulated vLLM engine: a FIFO waiting queue (unbounded unless asked),
// at most max_num_seqs running sequences, a finite prefix KV cache that
// running sequences take blocks of as they decode, recompute preemption when
// a running sequence needs a block and none is free (vLLM v1's scheduler), a
// limit on LoRA adapters active at once, and a timer per running sequence
// that makes each output token due when the latency model says.
// It knows nothing of sockets: callers pass the time in and get tokens out
// through a SequenceObserver.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "ringgate/sim/latency_model.h"
#include "ringgate/sim/prefix_kv_cache.h"
#include "ringgate/sim/sim_metrics.h"

namespace ringgate::sim {

struct SequenceResult {
  uint32_t prompt_tokens = 0;
  uint32_t cached_tokens = 0;  // prefix-cache hit of its first scheduling, as vLLM reports it
  uint32_t output_tokens = 0;
};

// Receives a sequence's tokens as they become due. Must not call back into the
// engine from these callbacks (defer cancel() to after Engine::advance returns).
class SequenceObserver {
 public:
  // False: the sequence ends here, aborted as by cancel() (its connection is being
  // dropped), and the observer hears nothing more of it.
  virtual bool on_token(uint32_t index) = 0;
  virtual void on_finished(const SequenceResult& result) = 0;

 protected:
  ~SequenceObserver() = default;
};

struct SequenceRequest {
  uint32_t prompt_tokens = 0;
  uint32_t output_tokens = 1;  // tokens to generate, >= 1
  std::vector<uint64_t> block_hashes;
  // Token ids of the hashed blocks (block_size each): what BlockStored events carry.
  std::vector<uint32_t> block_tokens;
  int32_t lora = -1;  // adapter index, -1 for the base model
  FinishReason finish_reason = FinishReason::length;
  SequenceObserver* observer = nullptr;
  // Request parameters vLLM's histograms count once per client request
  // (set on the first sequence of a request only): n and max_tokens.
  uint32_t n_param = 0;          // 0: not the first sequence of its request
  uint32_t max_tokens_param = 0;
};

struct EngineConfig {
  uint32_t max_num_seqs = 256;
  uint32_t max_waiting = 0;  // 0: unbounded, as vLLM; else the queue refuses beyond it
  uint32_t block_size = 16;
  uint32_t kv_blocks = 8192;
  uint32_t max_loras = 1;
  uint32_t num_loras = 0;
  uint32_t max_model_len = 2048;  // for the token-count histograms' buckets
  bool kv_events = false;         // record KV-cache events for take_kv_events()
  LatencyModel latency;
};

enum class SubmitStatus { accepted, queue_full, too_large };

struct SubmitResult {
  SubmitStatus status = SubmitStatus::accepted;
  uint64_t id = 0;  // valid when accepted
};

// A (running adapters, waiting adapters) pair the engine reported after a step
// and when it last did (monotonic ns), as vLLM's lora_requests_info series.
struct LoraStepState {
  std::vector<uint32_t> running;
  std::vector<uint32_t> waiting;
  uint64_t updated_ns = 0;
};

class Engine {
 public:
  // Series of lora_requests_info kept at most (oldest dropped beyond).
  static constexpr size_t kMaxLoraSeries = 1024;

  explicit Engine(const EngineConfig& config);

  // Queues a request that arrived at `now_ns`. Call advance() to run it.
  SubmitResult submit(SequenceRequest request, uint64_t now_ns);

  // Drops a waiting or running sequence without calling its observer again
  // (the client went away): its blocks are freed at once, counted as "abort".
  void cancel(uint64_t id, uint64_t now_ns);

  // Starts what can start and emits every token due by `now_ns`.
  void advance(uint64_t now_ns);

  // When advance() next has work; UINT64_MAX if never.
  uint64_t next_due_ns() const;

  uint32_t running() const { return static_cast<uint32_t>(running_order_.size()); }
  uint32_t waiting() const { return static_cast<uint32_t>(waiting_.size()); }
  double kv_cache_usage() const { return kv_.usage(); }
  const PrefixKvCache& kv_cache() const { return kv_; }
  // KV-cache events since the last call (empty unless config.kv_events).
  std::vector<kvevents::KvEvent> take_kv_events() { return kv_.take_events(); }
  const SimCounters& counters() const { return counters_; }
  // Adapter indices with a running / waiting sequence.
  std::vector<uint32_t> running_loras() const;
  std::vector<uint32_t> waiting_loras() const;
  // Every (running, waiting) adapter pair seen after a step; empty before the first step.
  const std::vector<LoraStepState>& lora_series() const { return lora_series_; }

 private:
  struct Sequence {
    SequenceRequest request;
    KvAllocation kv;
    uint64_t arrival_ns = 0;
    uint64_t first_scheduled_ns = 0;
    uint64_t start_ns = 0;  // of the current run (a preempted sequence runs again)
    uint64_t prefill_ns = 0;
    uint64_t next_due_ns = 0;
    uint64_t first_token_ns = 0;
    uint64_t last_token_ns = 0;
    uint32_t next_token = 0;
    uint32_t resume_token = 0;  // next_token when the current run started
    uint32_t cached_tokens = 0;
    bool scheduled_once = false;
    bool running = false;
  };
  struct Timer {
    uint64_t due_ns;
    uint64_t id;
    bool operator>(const Timer& o) const { return due_ns > o.due_ns; }
  };

  uint32_t blocks_for(uint64_t tokens) const;
  void schedule(uint64_t now_ns);
  bool try_start(uint64_t id, Sequence& s, uint64_t now_ns);
  // Makes room for `s` to hold KV for `tokens` tokens, preempting the
  // last-admitted running sequences if needed. False: `s` preempted itself.
  bool grow_or_preempt(uint64_t id, Sequence& s, uint64_t tokens);
  void preempt(uint64_t id, Sequence& s);
  void emit(uint64_t id, Sequence& s, uint64_t due_ns, uint64_t now_ns);
  void finish(uint64_t id, Sequence& s, uint64_t now_ns);
  // Drops `s` unfinished (its blocks freed), counted as "abort"; `s` is gone after.
  void abort(uint64_t id, Sequence& s, uint64_t now_ns);
  void release(uint64_t id, Sequence& s);
  void push_timer(uint64_t due_ns, uint64_t id);
  void record_step(uint64_t now_ns);

  EngineConfig config_;
  PrefixKvCache kv_;
  SimCounters counters_;
  std::unordered_map<uint64_t, Sequence> sequences_;
  std::deque<uint64_t> waiting_;
  std::vector<uint64_t> running_order_;  // admission order: the last is preempted first
  std::vector<Timer> timers_;  // min-heap on due_ns
  std::vector<uint32_t> lora_running_;  // running sequences per adapter
  uint32_t active_loras_ = 0;
  uint64_t next_id_ = 1;
  // Tokens of the current step, for vllm:iteration_tokens_total.
  uint64_t step_tokens_ = 0;
  bool stepped_ = false;
  bool preempted_this_step_ = false;
  std::vector<LoraStepState> lora_series_;
};

}  // namespace ringgate::sim
