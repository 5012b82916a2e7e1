// The simulated vLLM engine: a FIFO waiting queue (unbounded unless asked),
// at most max_num_seqs running sequences, a finite prefix KV cache that
// running sequences take blocks of as they decode, recompute preemption when
// a running sequence needs a block and none is free (vLLM v1's scheduler), a
// limit on LoRA adapters active at once, and a timer per running sequence
// that makes each output token due when the latency model says.
// Prefill runs through one lane, chunked as vLLM's chunked prefill: a sequence's
// uncached prompt tokens are computed max_num_batched_tokens at a time, prefills
// wait for each other, and each chunk's time (tokens x prefill time per token)
// delays the next token of every sequence already decoding, as a step that
// batches prefill work with decodes takes longer.
// NixlConnector (prefill/decode disaggregation): a sequence may hold its blocks
// when it finishes, for a remote decoder to pull (held transfers, freed on a pull,
// after a timeout, or beyond a cap), and a sequence may start with prompt tokens
// pulled from a remote prefill: cached here, costing a transfer time per block.
// It knows nothing of sockets: callers pass the time in and get tokens out
// through a SequenceObserver.
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <optional>
#include <string>
#include <string_view>
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
  // do_remote_decode: the blocks held for a remote decoder, as vLLM's request_finished
  // returns them (empty: nothing held, e.g. not length-capped, as vLLM).
  std::vector<uint32_t> held_block_ids;
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
  // Each hashed block's extra keys (LoRA name, media identifiers), when any has some.
  std::vector<kvevents::BlockExtraKeys> block_extra_keys;
  int32_t lora = -1;  // adapter index, -1 for the base model
  FinishReason finish_reason = FinishReason::length;
  SequenceObserver* observer = nullptr;
  // Request parameters vLLM's histograms count once per client request
  // (set on the first sequence of a request only): n and max_tokens.
  uint32_t n_param = 0;          // 0: not the first sequence of its request
  uint32_t max_tokens_param = 0;
  // do_remote_prefill with a successful pull: prompt tokens whose KV came from the prefill
  // engine (at most prompt - 1: vLLM recomputes the last token). They count as cached
  // here, and cost kv_transfer_time_per_block per block not already cached locally.
  uint32_t remote_tokens = 0;
  // do_remote_decode: when it finishes length-capped, its blocks are held under this id
  // until release_transfer(id), the hold timeout, or the cap on held transfers.
  std::string hold_for_transfer;
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
  uint32_t max_num_batched_tokens = 8192;  // prefill tokens per chunk (vLLM's chunked-prefill budget)
  bool kv_connector = false;               // external prefix cache counters (a KV connector is configured)
  uint32_t cpu_kv_blocks = 0;              // the OffloadingConnector's CPU tier (0: none)
  uint64_t held_transfer_timeout_ns = 480'000'000'000ull;  // VLLM_NIXL_ABORT_REQUEST_TIMEOUT
  uint32_t max_held_transfers = 4096;      // beyond it the oldest held transfer is released
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
  // The hardware's speed from now on (--speed-after): steps scheduled later take the new time.
  void set_speed(double speed) { config_.latency.speed = speed; }

  // A remote decoder pulled the blocks held under `request_id`: they are freed.
  // The number of blocks, or nothing when no such transfer is held (never, already
  // pulled, expired or released beyond the cap).
  std::optional<uint32_t> release_transfer(std::string_view request_id, uint64_t now_ns);
  uint32_t held_transfers() const { return static_cast<uint32_t>(held_.size()); }

  uint32_t running() const { return static_cast<uint32_t>(running_order_.size()); }
  uint32_t waiting() const { return static_cast<uint32_t>(waiting_.size()); }
  double kv_cache_usage() const { return kv_.usage(); }
  const PrefixKvCache& kv_cache() const { return kv_; }
  // KV-cache events since the last call (empty unless config.kv_events).
  std::vector<kvevents::KvEvent> take_kv_events() { return kv_.take_events(); }
  const SimCounters& counters() const { return counters_; }
  // Adapter indices with a running / waiting sequence.
  std::vector<uint32_t> running_loras() const;
  // The adapters in the --max-loras slots now, most recently activated first.
  const std::vector<uint32_t>& loaded_loras() const { return lora_slots_; }
  std::vector<uint32_t> waiting_loras() const;
  // Every (running, waiting) adapter pair seen after a step; empty before the first step.
  const std::vector<LoraStepState>& lora_series() const { return lora_series_; }

 private:
  // loading: pulling remote KV (no compute); prefilling: queued or computing in the
  // prefill lane; decoding: prefill done, tokens due one inter-token latency apart.
  enum class Phase { loading, prefilling, decoding };
  struct Sequence {
    SequenceRequest request;
    Phase phase = Phase::prefilling;
    uint32_t prefill_left = 0;   // prompt tokens still to compute in the lane
    uint64_t lane_ready_ns = 0;  // its prefill cannot start before this
    uint64_t run_base_ns = 0;    // prefill end + overhead: token j of the run is due base + stall + (j+1) ITL
    uint64_t stall_ns = 0;       // prefill chunks of others that delayed this run
    KvAllocation kv;
    uint64_t arrival_ns = 0;
    uint64_t first_scheduled_ns = 0;
    uint64_t start_ns = 0;  // of the current run (a preempted sequence runs again)
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
  // The prefill lane.
  void lane_enqueue(uint64_t id, Sequence& s, uint64_t at_ns);
  void lane_start_next(uint64_t at_ns);
  void lane_chunk_done();  // the current chunk's time is up: completes it, starts the next
  void complete_chunk();
  void stall_decodes(uint64_t at_ns, uint64_t delay_ns);
  // Held transfers.
  struct HeldTransfer {
    std::string request_id;
    KvAllocation kv;
    uint64_t expires_ns = 0;
  };
  void hold(Sequence& s, std::vector<uint32_t>& block_ids, uint64_t now_ns);
  void expire_transfers(uint64_t now_ns);
  // `lora` starts running: counts a swap unless it is still in a slot.
  void load_lora(uint32_t lora);

  EngineConfig config_;
  PrefixKvCache kv_;
  SimCounters counters_;
  std::unordered_map<uint64_t, Sequence> sequences_;
  std::deque<uint64_t> waiting_;
  std::vector<uint64_t> running_order_;  // admission order: the last is preempted first
  std::vector<Timer> timers_;  // min-heap on due_ns
  std::vector<uint32_t> lora_running_;  // running sequences per adapter
  uint32_t active_loras_ = 0;
  // The adapters in the --max-loras slots, most recently activated first (vLLM keeps an
  // adapter loaded after its last request until its slot is needed: an LRU of max_loras).
  std::vector<uint32_t> lora_slots_;
  uint64_t next_id_ = 1;
  // Tokens of the current step, for vllm:iteration_tokens_total.
  uint64_t step_tokens_ = 0;
  bool stepped_ = false;
  bool preempted_this_step_ = false;
  std::vector<LoraStepState> lora_series_;
  std::deque<uint64_t> lane_;       // sequences waiting for the prefill lane, FIFO
  uint64_t lane_current_ = 0;      // sequence whose chunk is computing (0: the lane is idle)
  bool lane_current_live_ = false;  // false: it was released meanwhile (the chunk still takes its time)
  uint64_t lane_free_ns_ = 0;      // when the current chunk ends
  std::list<HeldTransfer> held_;    // oldest first (one timeout for all: expiry order too)
  std::unordered_map<std::string, std::list<HeldTransfer>::iterator> held_by_id_;
};

}  // namespace ringgate::sim
