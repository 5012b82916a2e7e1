#include "ringgate/sim/engine.h"

#include <doctest/doctest.h>

#include <vector>

using namespace ringgate::sim;

namespace {

struct Recorder final : SequenceObserver {
  std::vector<uint32_t> tokens;
  bool finished = false;
  SequenceResult result;
  uint32_t stop_after = UINT32_MAX;  // on_token answers false at this many tokens
  bool on_token(uint32_t index) override {
    tokens.push_back(index);
    return tokens.size() < stop_after;
  }
  void on_finished(const SequenceResult& r) override {
    finished = true;
    result = r;
  }
};

constexpr uint64_t ms = 1'000'000;

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

}  // namespace

TEST_CASE("tokens come out when due: prefill, then one per inter-token latency") {
  EngineConfig c;
  c.latency = LatencyModel{10.0, 0, 5.0};  // 10 ms prefill, 5 ms per token
  Engine e(c);
  Recorder r;
  auto s = e.submit(request(r, 4, 3), 0);
  REQUIRE(s.status == SubmitStatus::accepted);
  CHECK(e.running() == 1);
  CHECK(e.next_due_ns() == 15 * ms);
  e.advance(14 * ms);
  CHECK(r.tokens.empty());
  e.advance(15 * ms);
  CHECK(r.tokens.size() == 1);
  e.advance(24 * ms);
  CHECK(r.tokens.size() == 2);
  CHECK_FALSE(r.finished);
  e.advance(25 * ms);
  CHECK(r.finished);
  CHECK(r.result.output_tokens == 3);
  CHECK(e.running() == 0);
  CHECK(e.counters().generation_tokens == 3);
  CHECK(e.counters().time_to_first_token.sum() == doctest::Approx(0.015));
  CHECK(e.counters().e2e_request_latency.sum() == doctest::Approx(0.025));
}

TEST_CASE("max_num_seqs bounds running sequences; the rest wait FIFO; beyond max_waiting is refused") {
  EngineConfig c;
  c.max_num_seqs = 1;
  c.max_waiting = 1;
  c.latency = LatencyModel{0, 0, 1.0};
  Engine e(c);
  Recorder a, b, d;
  CHECK(e.submit(request(a, 1, 2), 0).status == SubmitStatus::accepted);
  CHECK(e.submit(request(b, 1, 2), 0).status == SubmitStatus::accepted);
  CHECK(e.running() == 1);
  CHECK(e.waiting() == 1);
  CHECK(e.submit(request(d, 1, 2), 0).status == SubmitStatus::queue_full);
  e.advance(2 * ms);
  CHECK(a.finished);
  CHECK(e.running() == 1);  // b started when a finished
  CHECK(e.waiting() == 0);
  e.advance(4 * ms);
  CHECK(b.finished);
}

TEST_CASE("the running and waiting peaks: the most at once since the start, running never above max_num_seqs") {
  EngineConfig c;
  c.max_num_seqs = 2;
  c.latency = LatencyModel{0, 0, 1.0};
  Engine e(c);
  Recorder r[4];
  for (int i = 0; i < 2; ++i) CHECK(e.submit(request(r[i], 1, 2), 0).status == SubmitStatus::accepted);
  CHECK(e.counters().running_peak == 2);  // N = max_num_seqs: all run
  CHECK(e.counters().waiting_peak == 0);
  CHECK(e.submit(request(r[2], 1, 2), 0).status == SubmitStatus::accepted);  // N+1 waits
  CHECK(e.counters().running_peak == 2);
  CHECK(e.counters().waiting_peak == 1);
  e.advance(10 * ms);
  CHECK(e.submit(request(r[3], 1, 2), 10 * ms).status == SubmitStatus::accepted);
  CHECK(e.counters().running_peak == 2);  // a peak, not the gauge
  CHECK(e.counters().waiting_peak == 1);
}

TEST_CASE("a repeated prompt hits the prefix cache and prefills faster") {
  EngineConfig c;
  c.block_size = 16;
  c.latency = LatencyModel{0, 1000.0, 0};  // 1 ms per uncached prompt token
  Engine e(c);
  Recorder a, b;
  std::vector<uint64_t> hashes{1, 2, 3, 4};  // 64 tokens in 4 full blocks
  e.submit(request(a, 70, 1, hashes), 0);
  e.advance(70 * ms);
  REQUIRE(a.finished);
  CHECK(a.result.cached_tokens == 0);
  e.submit(request(b, 70, 1, hashes), 100 * ms);
  CHECK(e.next_due_ns() == 106 * ms);  // only the 6 tokens past the cached blocks
  e.advance(106 * ms);
  REQUIRE(b.finished);
  CHECK(b.result.cached_tokens == 64);
  CHECK(e.counters().prefix_cache_queries == 140);
  CHECK(e.counters().prefix_cache_hits == 64);
  CHECK(e.counters().prompt_tokens == 140);
}

TEST_CASE("a request starts with blocks for its prompt only; one that cannot get them waits") {
  EngineConfig c;
  c.block_size = 4;
  c.kv_blocks = 4;
  c.latency = LatencyModel{0, 0, 1.0};
  Engine e(c);
  Recorder a, b;
  e.submit(request(a, 12, 2), 0);  // 12 prompt tokens: 3 blocks at admission
  CHECK(e.kv_cache_usage() == doctest::Approx(0.75));
  e.submit(request(b, 8, 2), 0);  // needs 2, only 1 free
  CHECK(e.running() == 1);
  CHECK(e.waiting() == 1);
  e.advance(2 * ms);
  CHECK(a.finished);
  CHECK(e.running() == 1);
  CHECK(e.kv_cache_usage() == doctest::Approx(0.5));
  Recorder huge;
  CHECK(e.submit(request(huge, 16, 4), 0).status == SubmitStatus::too_large);
}

TEST_CASE("cancel frees a running sequence at once and counts an abort") {
  EngineConfig c;
  c.max_num_seqs = 1;
  c.latency = LatencyModel{0, 0, 10.0};
  Engine e(c);
  Recorder a, b;
  auto first = e.submit(request(a, 4, 5), 0);
  e.submit(request(b, 4, 1), 0);
  CHECK(e.waiting() == 1);
  e.advance(10 * ms);
  CHECK(a.tokens.size() == 1);
  e.cancel(first.id, 12 * ms);
  CHECK(e.kv_cache().used_blocks() == 1);  // b's block: it started in a's place
  CHECK(e.running() == 1);
  CHECK(e.waiting() == 0);
  CHECK(e.counters().success[int(FinishReason::abort)] == 1);
  e.advance(100 * ms);
  CHECK(a.tokens.size() == 1);  // nothing more for the cancelled one
  CHECK_FALSE(a.finished);
  CHECK(b.finished);
}

TEST_CASE("an observer refusing a token ends its sequence there, even within one step: freed, counted an abort") {
  EngineConfig c;
  c.max_num_seqs = 1;
  Engine e(c);  // no latency: every token is due at once
  Recorder a, b;
  a.stop_after = 3;
  e.submit(request(a, 4, 10), 0);
  e.submit(request(b, 4, 2), 0);
  e.advance(0);
  CHECK(a.tokens.size() == 3);  // nothing after the refused one
  CHECK_FALSE(a.finished);
  CHECK(b.finished);  // admitted in a's place in the same step
  CHECK(e.counters().success[int(FinishReason::abort)] == 1);
  CHECK(e.counters().success[int(FinishReason::length)] == 1);
  CHECK(e.running() == 0);
  CHECK(e.kv_cache().used_blocks() == 0);
}

TEST_CASE("max_loras limits adapters running at once; other adapters wait, base requests pass") {
  EngineConfig c;
  c.max_loras = 1;
  c.num_loras = 2;
  c.latency = LatencyModel{0, 0, 1.0};
  Engine e(c);
  Recorder x, y, base, x2;
  e.submit(request(x, 1, 2, {}, 0), 0);
  e.submit(request(y, 1, 2, {}, 1), 0);
  e.submit(request(base, 1, 2), 0);
  e.submit(request(x2, 1, 2, {}, 0), 0);
  CHECK(e.running() == 3);  // x, base and x2 (same adapter as x)
  CHECK(e.waiting() == 1);
  CHECK(e.running_loras() == std::vector<uint32_t>{0});
  CHECK(e.waiting_loras() == std::vector<uint32_t>{1});
  e.advance(2 * ms);
  CHECK(e.running_loras() == std::vector<uint32_t>{1});
  e.advance(4 * ms);
  CHECK(y.finished);
}
