// The simulated vLLM engine: a FIFO waiting queue, at most max_num_seqs
// running sequences, a finite prefix KV cache that running sequences hold
// blocks of, a limit on LoRA adapters active at once, and a timer per running
// sequence that makes each output token due when the latency model says.
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
  uint32_t cached_tokens = 0;
  uint32_t output_tokens = 0;
};

// Receives a sequence's tokens as they become due. Must not call back into the
// engine from these callbacks (defer cancel() to after Engine::advance returns).
class SequenceObserver {
 public:
  virtual void on_token(uint32_t index) = 0;
  virtual void on_finished(const SequenceResult& result) = 0;

 protected:
  ~SequenceObserver() = default;
};

struct SequenceRequest {
  uint32_t prompt_tokens = 0;
  uint32_t output_tokens = 1;  // tokens to generate, >= 1
  std::vector<uint64_t> block_hashes;
  int32_t lora = -1;  // adapter index, -1 for the base model
  FinishReason finish_reason = FinishReason::length;
  SequenceObserver* observer = nullptr;
};

struct EngineConfig {
  uint32_t max_num_seqs = 256;
  uint32_t max_waiting = 1024;
  uint32_t block_size = 16;
  uint32_t kv_blocks = 8192;
  uint32_t max_loras = 1;
  uint32_t num_loras = 0;
  LatencyModel latency;
};

enum class SubmitStatus { accepted, queue_full, too_large };

struct SubmitResult {
  SubmitStatus status = SubmitStatus::accepted;
  uint64_t id = 0;  // valid when accepted
};

class Engine {
 public:
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

  uint32_t running() const { return running_; }
  uint32_t waiting() const { return static_cast<uint32_t>(waiting_.size()); }
  double kv_cache_usage() const { return kv_.usage(); }
  const PrefixKvCache& kv_cache() const { return kv_; }
  const SimCounters& counters() const { return counters_; }
  // Adapter indices with a running / waiting sequence.
  std::vector<uint32_t> running_loras() const;
  std::vector<uint32_t> waiting_loras() const;

 private:
  struct Sequence {
    SequenceRequest request;
    KvAllocation kv;
    uint64_t arrival_ns = 0;
    uint64_t start_ns = 0;
    uint64_t prefill_ns = 0;
    uint64_t next_due_ns = 0;
    uint32_t next_token = 0;
    uint32_t cached_tokens = 0;
    bool running = false;
  };
  struct Timer {
    uint64_t due_ns;
    uint64_t id;
    bool operator>(const Timer& o) const { return due_ns > o.due_ns; }
  };

  uint32_t blocks_needed(const SequenceRequest& r) const;
  void schedule(uint64_t now_ns);
  bool try_start(uint64_t id, Sequence& s, uint64_t now_ns);
  void finish(uint64_t id, Sequence& s, uint64_t now_ns);
  void release(Sequence& s);
  void push_timer(uint64_t due_ns, uint64_t id);

  EngineConfig config_;
  PrefixKvCache kv_;
  SimCounters counters_;
  std::unordered_map<uint64_t, Sequence> sequences_;
  std::deque<uint64_t> waiting_;
  std::vector<Timer> timers_;  // min-heap on due_ns
  std::vector<uint32_t> lora_running_;  // running sequences per adapter
  uint32_t active_loras_ = 0;
  uint32_t running_ = 0;
  uint64_t next_id_ = 1;
};

}  // namespace ringgate::sim
