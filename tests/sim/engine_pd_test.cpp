// The engine's prefill lane (chunked prefill: prefill work delays running decodes)
// and NixlConnector's two halves: a do_remote_decode sequence holding its blocks
// for a remote decoder, and a do_remote_prefill sequence starting from pulled blocks.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ringgate/sim/engine.h"

using namespace ringgate::sim;

namespace {

struct Recorder final : SequenceObserver {
  std::vector<uint32_t> tokens;
  std::vector<uint64_t> at;  // when each token came out (the advance() time)
  uint64_t now = 0;
  bool finished = false;
  SequenceResult result;
  bool on_token(uint32_t index) override {
    tokens.push_back(index);
    at.push_back(now);
    return true;
  }
  void on_finished(const SequenceResult& r) override {
    finished = true;
    result = r;
  }
};

constexpr uint64_t ms = 1'000'000;

SequenceRequest request(Recorder& r, uint32_t prompt_tokens, uint32_t output_tokens, std::vector<uint64_t> hashes = {}) {
  SequenceRequest s;
  s.prompt_tokens = prompt_tokens;
  s.output_tokens = output_tokens;
  s.block_hashes = std::move(hashes);
  s.observer = &r;
  return s;
}

std::vector<uint64_t> hashes(uint32_t n, uint64_t base = 100) {
  std::vector<uint64_t> v;
  for (uint32_t i = 0; i < n; ++i) v.push_back(base + i);
  return v;
}

// Token times in ms, "11 21 31", so a failure shows them.
std::string times(const std::vector<uint64_t>& at) {
  std::string out;
  for (uint64_t t : at) out += (out.empty() ? "" : " ") + std::to_string(t / ms) + (t % ms ? "+" : "");
  return out;
}

// Advances 1 ms at a time from `from_ms` to `until_ms`, stamping the recorders' tokens.
void run(Engine& e, std::vector<Recorder*> rs, uint64_t from_ms, uint64_t until_ms) {
  for (uint64_t t = from_ms * ms; t <= until_ms * ms; t += ms) {
    for (auto* r : rs) r->now = t;
    e.advance(t);
  }
}

}  // namespace

TEST_CASE("a prefill admitted while a sequence decodes delays its next token by the prefill's compute time") {
  EngineConfig c;
  c.latency = LatencyModel{0, 1000.0, 10.0};  // 1 ms per prompt token, 10 ms per output token
  Engine e(c);
  Recorder a, b;
  e.submit(request(a, 1, 5), 0);  // prefill 1 ms: tokens at 11, 21, 31, 41, 51
  run(e, {&a}, 0, 25);
  REQUIRE(times(a.at) == "11 21");
  e.submit(request(b, 20, 2), 25 * ms);  // 20 ms of prefill from 25 ms: a's token due at 31 waits for it
  run(e, {&a, &b}, 25, 100);
  CHECK(times(a.at) == "11 21 51 61 71");
  CHECK(times(b.at) == "55 65");  // its own prefill then one ITL
}

TEST_CASE("a prefill submitted while a decode token is overdue (not yet emitted) delays the tokens after it") {
  EngineConfig c;
  c.latency = LatencyModel{0, 1000.0, 10.0};
  Engine e(c);
  Recorder a, b;
  e.submit(request(a, 1, 4), 0);  // tokens due 11, 21, 31, 41
  run(e, {&a}, 0, 20);
  e.submit(request(b, 20, 1), 22 * ms);  // a's token due at 21 is overdue: the loop has not run since 20
  run(e, {&a, &b}, 22, 100);
  CHECK(times(a.at) == "11 22 51 61");  // 21 (emitted at 22), then 31 + 20, 41 + 20
  CHECK(times(b.at) == "52");
}

TEST_CASE("without prefill overlap the timing is as before; prefills queue behind each other") {
  EngineConfig c;
  c.latency = LatencyModel{2.0, 1000.0, 10.0};
  Engine e(c);
  Recorder a, b;
  e.submit(request(a, 5, 2), 0);  // 2 + 5 ms prefill, tokens at 17, 27
  e.submit(request(b, 5, 1), 0);  // its prefill runs after a's: 10 + 2 + 10 = 22
  CHECK(e.next_due_ns() == 5 * ms);  // a's chunk ends
  run(e, {&a, &b}, 0, 40);
  // b's chunk started at 5 ms, after a's prefill was done: a's first token (due 17) came out of
  // its own prefill's step and keeps its time; its second (27) waits the 5 ms.
  CHECK(times(a.at) == "17 32");
  CHECK(times(b.at) == "22");
}

TEST_CASE("a prompt longer than max_num_batched_tokens is prefilled in chunks, decodes running in between") {
  EngineConfig c;
  c.max_num_batched_tokens = 10;
  c.kv_blocks = 64;
  c.latency = LatencyModel{0, 1000.0, 5.0};
  Engine e(c);
  Recorder a, b;
  e.submit(request(a, 1, 20), 0);  // 1 ms prefill, tokens every 5 ms from 6
  run(e, {&a}, 0, 6);
  REQUIRE(a.at.size() == 1);
  e.submit(request(b, 25, 1), 7 * ms);  // chunks 10, 10, 5 ms with an ITL after each non-last chunk
  run(e, {&a, &b}, 7, 80);
  // Chunks at 7-17 (+5), 22-32 (+5), 37-42; b's token at 42 + 5.
  CHECK(times(b.at) == "47");
  // a's token due at 11 waits for chunk 1 (to 21); at 26 for chunk 2 (to 36), at 41 for chunk 3 (to 46).
  CHECK(times(a.at).starts_with("6 21 36 46 51 "));
}

TEST_CASE("a prompt's first token does not wait for the next prompt's chunks; its second waits for one") {
  EngineConfig c;
  c.max_num_batched_tokens = 10;
  c.kv_blocks = 64;
  c.latency = LatencyModel{0, 1000.0, 5.0};
  Engine e(c);
  Recorder a, b;
  e.submit(request(a, 10, 2), 0);  // one 10 ms chunk; its first token one step after it: 15
  e.submit(request(b, 30, 1), 0);  // three chunks from 10 ms, an ITL after each but the last
  run(e, {&a, &b}, 0, 80);
  // a's first token (15) is its prefill step's: b's first chunk (10-20) does not move it. Its
  // second (20) waits for that chunk: 30. b's second chunk starts at 25 and delays it once more:
  // 40. Without the first token's exemption it would read "25 ...".
  CHECK(times(a.at) == "15 40");
}

TEST_CASE("do_remote_decode: a length-capped sequence holds its blocks until pulled") {
  EngineConfig c;
  c.block_size = 4;
  c.kv_blocks = 8;
  c.kv_connector = true;
  Engine e(c);
  Recorder a;
  SequenceRequest r = request(a, 10, 1, hashes(2));
  r.hold_for_transfer = "cmpl-1";
  e.submit(std::move(r), 0);
  e.advance(0);
  REQUIRE(a.finished);
  CHECK(a.result.held_block_ids.size() == 3);  // ceil(10 / 4)
  CHECK(e.kv_cache().used_blocks() == 3);     // held: still used
  CHECK(e.held_transfers() == 1);
  CHECK(e.counters().kv_transfers_held == 1);
  CHECK_FALSE(e.release_transfer("cmpl-2", 0));
  CHECK(e.release_transfer("cmpl-1", 0) == 3u);
  CHECK(e.kv_cache().used_blocks() == 0);
  CHECK_FALSE(e.release_transfer("cmpl-1", 0));  // once only
  CHECK(e.counters().kv_transfers_served == 1);

  Recorder s;  // finished on a stop: nothing held, as vLLM's request_finished
  SequenceRequest stop = request(s, 10, 1);
  stop.hold_for_transfer = "cmpl-3";
  stop.finish_reason = FinishReason::stop;
  e.submit(std::move(stop), 0);
  e.advance(0);
  CHECK(s.result.held_block_ids.empty());
  CHECK(e.held_transfers() == 0);
}

TEST_CASE("held transfers expire after the timeout, and beyond the cap the oldest is released") {
  EngineConfig c;
  c.block_size = 4;
  c.kv_blocks = 16;
  c.held_transfer_timeout_ns = 100 * ms;
  c.max_held_transfers = 2;
  Engine e(c);
  Recorder r1, r2, r3;
  auto held = [&](Recorder& r, const char* id, uint64_t at) {
    SequenceRequest q = request(r, 4, 1);
    q.hold_for_transfer = id;
    e.submit(std::move(q), at);
    e.advance(at);
  };
  held(r1, "a", 0);
  held(r2, "b", 10 * ms);
  CHECK(e.held_transfers() == 2);
  CHECK(e.next_due_ns() == 100 * ms);  // the loop wakes to expire the first
  held(r3, "c", 20 * ms);              // beyond the cap: "a" goes
  CHECK(e.held_transfers() == 2);
  CHECK(e.counters().kv_transfers_evicted == 1);
  CHECK_FALSE(e.release_transfer("a", 20 * ms));
  e.advance(110 * ms);  // "b" expired
  CHECK(e.held_transfers() == 1);
  CHECK(e.counters().kv_transfers_expired == 1);
  CHECK_FALSE(e.release_transfer("b", 110 * ms));
  CHECK_FALSE(e.release_transfer("c", 120 * ms));  // expired when asked, before the loop swept it
  CHECK(e.counters().kv_transfers_expired == 2);
  CHECK(e.kv_cache().used_blocks() == 0);
}

TEST_CASE("held blocks keep a waiting request out until they are freed") {
  EngineConfig c;
  c.block_size = 4;
  c.kv_blocks = 4;
  Engine e(c);
  Recorder a, b;
  SequenceRequest q = request(a, 12, 1);
  q.hold_for_transfer = "a";
  e.submit(std::move(q), 0);
  e.advance(0);
  REQUIRE(e.kv_cache().used_blocks() == 3);
  e.submit(request(b, 8, 1), 0);  // needs 2 (+1) blocks, 1 free
  CHECK(e.waiting() == 1);
  e.release_transfer("a", 1);
  e.advance(1);
  CHECK(b.finished);
}

TEST_CASE("do_remote_prefill: pulled tokens are cached, cost a transfer time per block, and leave the tail to prefill") {
  EngineConfig c;
  c.block_size = 4;
  c.kv_blocks = 16;
  c.kv_connector = true;
  c.latency = LatencyModel{0, 1000.0, 10.0, 500.0};  // 1 ms per token, 0.5 ms per pulled block
  Engine e(c);
  Recorder a;
  SequenceRequest r = request(a, 18, 2, hashes(4));
  r.remote_tokens = 18;  // capped at 17: vLLM recomputes the last token
  e.submit(std::move(r), 0);
  // 17 tokens pulled: 5 blocks, 2.5 ms; then 1 token of prefill; first token 10 ms later.
  CHECK(e.counters().kv_blocks_transferred == 5);
  CHECK(e.counters().external_prefix_cache_hits == 17);
  CHECK(e.counters().external_prefix_cache_queries == 18);
  CHECK(e.counters().nixl_xfer_time.count() == 1);
  CHECK(e.counters().nixl_xfer_time.sum() == doctest::Approx(0.0025));
  CHECK(e.next_due_ns() == 2'500'000);
  e.advance(2'500'000);
  CHECK(e.next_due_ns() == 3'500'000);  // the one token's chunk
  e.advance(3'500'000);
  CHECK(e.next_due_ns() == 13'500'000);
  e.advance(30 * ms);
  REQUIRE(a.finished);
  CHECK(a.result.cached_tokens == 17);

  // The same prompt again, pulled: its 4 full blocks are cached locally now, only the rest is pulled.
  Recorder b;
  SequenceRequest again = request(b, 18, 1, hashes(4));
  again.remote_tokens = 18;
  e.submit(std::move(again), 30 * ms);
  CHECK(e.counters().kv_blocks_transferred == 6);  // one more: tokens 16-17 (the 17th of them)
  e.advance(60 * ms);
  CHECK(b.finished);
}

TEST_CASE("a sequence prefilling when it is cancelled leaves the lane to the next") {
  EngineConfig c;
  c.latency = LatencyModel{0, 1000.0, 1.0};
  Engine e(c);
  Recorder a, b, b2;
  auto ida = e.submit(request(a, 10, 1), 0).id;
  e.submit(request(b, 10, 1), 0);
  e.submit(request(b2, 10, 1), 0);
  e.cancel(ida, 2 * ms);  // its chunk (to 10 ms) still takes its time
  Recorder d;
  auto idd = e.submit(request(d, 10, 1), 2 * ms).id;
  e.cancel(idd, 3 * ms);  // queued: removed, it never runs
  run(e, {&a, &b, &b2, &d}, 3, 60);
  CHECK(a.tokens.empty());
  CHECK(d.tokens.empty());
  // Chunks 0-10 (a's, cancelled), 10-20 (b), 20-30 (b2); b's first token (due 21) is its
  // prefill step's: b2's chunk does not delay it.
  CHECK(times(b.at) == "21");
  CHECK(times(b2.at) == "31");
}
