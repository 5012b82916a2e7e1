// The engine's KV cache as vLLM v1 runs it: blocks taken as tokens are
// decoded, recompute preemption of the last-admitted running request when a
// block is missing, the prefix-cache hit capped below the last prompt token,
// an unbounded waiting queue, and the per-phase timing histograms.
#include <doctest/doctest.h>

#include <vector>

#include "ringgate/sim/engine.h"

using namespace ringgate::sim;

namespace {

struct Recorder final : SequenceObserver {
  std::vector<uint32_t> tokens;
  bool finished = false;
  SequenceResult result;
  bool on_token(uint32_t index) override {
    tokens.push_back(index);
    return true;
  }
  void on_finished(const SequenceResult& r) override {
    finished = true;
    result = r;
  }
};

constexpr uint64_t ms = 1'000'000;
constexpr uint64_t us = 1'000;

SequenceRequest request(Recorder& r, uint32_t prompt_tokens, uint32_t output_tokens, std::vector<uint64_t> hashes = {},
                        int32_t lora = -1) {
  SequenceRequest s;
  s.prompt_tokens = prompt_tokens;
  s.output_tokens = output_tokens;
  s.block_hashes = std::move(hashes);
  s.lora = lora;
  s.observer = &r;
  return s;
}

std::vector<uint32_t> iota(uint32_t n) {
  std::vector<uint32_t> v;
  for (uint32_t i = 0; i < n; ++i) v.push_back(i);
  return v;
}

}  // namespace

TEST_CASE("blocks are taken as tokens are decoded, so KV usage climbs during a request") {
  EngineConfig c;
  c.block_size = 4;
  c.kv_blocks = 10;
  c.latency = LatencyModel{0, 0, 1.0};
  Engine e(c);
  Recorder a;
  e.submit(request(a, 4, 9), 0);
  CHECK(e.kv_cache().used_blocks() == 1);  // the prompt only
  e.advance(1 * ms);                       // token 0 out; token 1 needs the KV of 5 tokens
  CHECK(e.kv_cache().used_blocks() == 2);
  e.advance(4 * ms);  // tokens 1..3 out; the next needs 8 tokens: still 2 blocks
  CHECK(e.kv_cache().used_blocks() == 2);
  e.advance(5 * ms);  // token 4 out; 9 tokens
  CHECK(e.kv_cache().used_blocks() == 3);
  e.advance(9 * ms);
  CHECK(a.finished);
  CHECK(e.kv_cache().used_blocks() == 0);
}

TEST_CASE("a running request that cannot get its next block preempts the last admitted one (itself here)") {
  EngineConfig c;
  c.block_size = 4;
  c.kv_blocks = 4;
  c.latency = LatencyModel{0, 0, 1.0};
  Engine e(c);
  Recorder a, b;
  e.submit(request(a, 8, 8), 0);         // 2 blocks
  e.submit(request(b, 4, 8), 500 * us);  // 1 block, admitted after a
  CHECK(e.running() == 2);
  e.advance(1 * ms);  // a's token 0; a grows to 3 blocks: the cache is full
  CHECK(e.kv_cache_usage() == doctest::Approx(1.0));
  e.advance(1500 * us);  // b's token 0; b needs a 2nd block: b is the last admitted, so b goes
  CHECK(b.tokens == std::vector<uint32_t>{0});
  CHECK(e.counters().num_preemptions == 1);
  CHECK(e.running() == 1);
  CHECK(e.waiting() == 1);
  CHECK(e.kv_cache().used_blocks() == 3);
  e.advance(8 * ms);  // a finishes at 8 ms; b is recomputed (prompt + its 1 token) and runs on
  CHECK(a.finished);
  CHECK(a.tokens == iota(8));
  CHECK(e.running() == 1);
  CHECK(e.waiting() == 0);
  e.advance(15 * ms);
  CHECK(b.finished);
  CHECK(b.tokens == iota(8));  // every token once, none repeated after the preemption
  CHECK(b.result.output_tokens == 8);
  CHECK(e.counters().num_preemptions == 1);
  CHECK(e.kv_cache().used_blocks() == 0);
}

TEST_CASE("the preempted request is the last admitted, not the one asking") {
  EngineConfig c;
  c.block_size = 4;
  c.kv_blocks = 2;
  c.latency = LatencyModel{0, 0, 1.0};
  Engine e(c);
  Recorder a, b;
  e.submit(request(a, 4, 3), 0);
  e.submit(request(b, 4, 3), 500 * us);
  e.advance(1 * ms);  // a's token 0: a needs a 2nd block, b (admitted last) is preempted
  CHECK(e.counters().num_preemptions == 1);
  CHECK(b.tokens.empty());
  CHECK(e.running() == 1);
  CHECK(e.waiting() == 1);
  e.advance(3 * ms);
  CHECK(a.finished);
  CHECK(e.running() == 1);  // b again, from its prompt
  e.advance(6 * ms);
  CHECK(b.finished);
  CHECK(b.tokens == iota(3));
}

TEST_CASE("a repeated prompt never hits its last token: at most (n-1)/B full blocks") {
  EngineConfig c;
  c.block_size = 16;
  Engine e(c);
  Recorder a, b;
  std::vector<uint64_t> hashes{11, 12};  // a prompt of exactly 32 tokens
  e.submit(request(a, 32, 1, hashes), 0);
  e.advance(0);
  REQUIRE(a.finished);
  e.submit(request(b, 32, 1, hashes), 1 * ms);
  e.advance(1 * ms);
  REQUIRE(b.finished);
  CHECK(b.result.cached_tokens == 16);  // not 32
  CHECK(e.counters().prefix_cache_hits == 16);
}

TEST_CASE("the waiting queue is unbounded unless max_waiting is set") {
  EngineConfig c;
  c.max_num_seqs = 1;
  c.latency = LatencyModel{0, 0, 1.0};
  Engine e(c);
  std::vector<Recorder> r(2000);
  for (auto& each : r) CHECK(e.submit(request(each, 1, 1), 0).status == SubmitStatus::accepted);
  CHECK(e.waiting() == 1999);
}

TEST_CASE("queue, prefill, decode, inference and inter-token times as vLLM's FinishedRequestStats") {
  EngineConfig c;
  c.max_num_seqs = 1;
  c.latency = LatencyModel{10.0, 0, 5.0};
  Engine e(c);
  Recorder a, b;
  e.submit(request(a, 4, 3), 0);  // tokens at 15, 20, 25 ms
  e.submit(request(b, 4, 3), 0);  // waits until 25 ms; tokens at 40, 45, 50 ms
  for (uint64_t t = 0; t <= 50; ++t) e.advance(t * ms);
  REQUIRE(b.finished);
  const SimCounters& k = e.counters();
  CHECK(k.request_queue_time.sum() == doctest::Approx(0.025));
  CHECK(k.request_prefill_time.sum() == doctest::Approx(0.030));
  CHECK(k.request_decode_time.sum() == doctest::Approx(0.020));
  CHECK(k.request_inference_time.sum() == doctest::Approx(0.050));
  CHECK(k.e2e_request_latency.sum() == doctest::Approx(0.075));
  CHECK(k.inter_token_latency.count() == 4);
  CHECK(k.inter_token_latency.sum() == doctest::Approx(0.020));
  CHECK(k.request_time_per_output_token.sum() == doctest::Approx(0.010));
  CHECK(k.request_prompt_tokens.sum() == doctest::Approx(8));
  CHECK(k.request_generation_tokens.sum() == doctest::Approx(6));
  CHECK(k.iteration_tokens.sum() == doctest::Approx(14));  // 6 generated + 2 prompts of 4
}

TEST_CASE("LoRA series: none before the first step, then every (running, waiting) pair with its last update") {
  EngineConfig c;
  c.max_loras = 1;
  c.num_loras = 2;
  c.latency = LatencyModel{0, 0, 1.0};
  Engine e(c);
  CHECK(e.lora_series().empty());
  Recorder x, y;
  e.submit(request(x, 1, 2, {}, 0), 0);
  e.submit(request(y, 1, 2, {}, 1), 0);  // waits: one adapter at a time
  e.advance(2 * ms);                      // x done, y runs
  e.advance(4 * ms);                      // y done
  const auto& series = e.lora_series();
  auto find = [&](std::vector<uint32_t> run, std::vector<uint32_t> wait) -> const LoraStepState* {
    for (const auto& s : series)
      if (s.running == run && s.waiting == wait) return &s;
    return nullptr;
  };
  REQUIRE(find({0}, {}) != nullptr);
  REQUIRE(find({0}, {1}) != nullptr);
  REQUIRE(find({1}, {}) != nullptr);
  REQUIRE(find({}, {}) != nullptr);
  CHECK(find({}, {})->updated_ns == 4 * ms);
  CHECK(find({0}, {1})->updated_ns <= 1 * ms);
}

TEST_CASE("LoRA swaps: an adapter stays in its slot after its last request; loading one that is not there counts") {
  EngineConfig c;
  c.max_loras = 2;
  c.num_loras = 3;
  c.latency = LatencyModel{0, 0, 1.0};
  Engine e(c);
  Recorder r[6];
  uint64_t now = 0;
  auto run = [&](Recorder& rec, int32_t lora) {
    e.submit(request(rec, 1, 1, {}, lora), now);
    now += 2 * ms;
    e.advance(now);
  };
  run(r[0], 0);
  CHECK(e.counters().lora_swaps == 1);  // the first load
  run(r[1], 0);
  CHECK(e.counters().lora_swaps == 1);  // still loaded, though nothing ran it meanwhile
  run(r[2], 1);
  CHECK(e.counters().lora_swaps == 2);
  CHECK(e.loaded_loras() == std::vector<uint32_t>{1, 0});
  run(r[3], 0);
  CHECK(e.counters().lora_swaps == 2);  // both fit in the two slots
  run(r[4], 2);                         // evicts 1, the least recently used
  CHECK(e.counters().lora_swaps == 3);
  CHECK(e.loaded_loras() == std::vector<uint32_t>{2, 0});
  run(r[5], 1);
  CHECK(e.counters().lora_swaps == 4);
  run(r[0], -1);  // the base model loads nothing
  CHECK(e.counters().lora_swaps == 4);
}

TEST_CASE("a CPU-tier hit is loaded at the offload rate, not prefilled; counted as an external hit") {
  EngineConfig c;
  c.block_size = 16;
  c.kv_blocks = 5;  // a 64-token prompt and its output; a 79-token one and its output
  c.cpu_kv_blocks = 8;
  c.kv_connector = true;
  c.latency = LatencyModel{0, 1000.0, 1.0};           // 1 ms a prompt token
  c.latency.kv_offload_load_time_per_block_us = 500;  // 0.5 ms a block
  Engine e(c);
  Recorder a, b, d;
  const std::vector<uint64_t> p{1, 2, 3, 4};
  e.submit(request(a, 64, 1, p), 0);
  e.advance(20 * ms);
  CHECK_FALSE(a.finished);  // 64 ms of prefill
  e.advance(1000 * ms);
  REQUIRE(a.finished);
  e.submit(request(b, 79, 1, {5, 6, 7, 8}), 1000 * ms);  // takes all 5 blocks: p goes to the CPU tier
  e.advance(2000 * ms);
  REQUIRE(b.finished);
  e.submit(request(d, 64, 1, p), 2000 * ms);
  // 1.5 ms of loading and 16 ms of prefill for the last block, against 64 ms computed whole.
  e.advance(2020 * ms);
  REQUIRE(d.finished);
  CHECK(d.result.cached_tokens == 48);  // 3 blocks loaded; the last one computed
  CHECK(e.counters().prefix_cache_hits == 0);
  CHECK(e.counters().external_prefix_cache_hits == 48);
  CHECK(e.counters().external_prefix_cache_queries == 64 + 79 + 64);
}
