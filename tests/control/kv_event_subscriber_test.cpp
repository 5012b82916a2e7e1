// The subscriber against a real ZMQ publisher on loopback: the stream's start makes an
// endpoint precise, a gap with no replay socket and a hostile payload make it fall back.
#include "ringgate/control/kv_event_subscriber.h"

#include <doctest/doctest.h>
#include <zmq.h>

#include <chrono>
#include <string>
#include <thread>

using namespace ringgate;

namespace {

std::string be64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) s[size_t(i)] = char(v & 0xff);
  return s;
}

struct Publisher {
  void* ctx = zmq_ctx_new();
  void* pub = zmq_socket(ctx, ZMQ_PUB);
  std::string address;
  Publisher() {
    int linger = 0;
    zmq_setsockopt(pub, ZMQ_LINGER, &linger, sizeof linger);
    REQUIRE(zmq_bind(pub, "tcp://127.0.0.1:*") == 0);
    char buf[256] = {};
    size_t len = sizeof buf;
    zmq_getsockopt(pub, ZMQ_LAST_ENDPOINT, buf, &len);
    address = buf;
  }
  ~Publisher() {
    zmq_close(pub);
    zmq_ctx_term(ctx);
  }
  void send(const std::string& topic, const std::string& seq, const std::string& payload) {
    zmq_send(pub, topic.data(), topic.size(), ZMQ_SNDMORE);
    zmq_send(pub, seq.data(), seq.size(), ZMQ_SNDMORE);
    zmq_send(pub, payload.data(), payload.size(), 0);
  }
};

std::string batch_storing(uint64_t hash) {
  kvevents::KvEventBatch b;
  b.ts = 1;
  b.events.push_back(kvevents::BlockStored{{hash}, std::nullopt, {1}, 1, std::nullopt, "GPU"});
  b.data_parallel_rank = 0;
  return kvevents::encode_kv_event_batch(b);
}

// Sends `make(attempt)` until `done()` holds: a SUB socket sees nothing sent before
// its subscription reached the publisher, so the first sends may be lost. Bounded.
template <typename Make, typename Done>
bool send_until(Publisher& p, Make make, Done done) {
  for (int attempt = 0; attempt < 500; ++attempt) {
    make(attempt);
    for (int i = 0; i < 10; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return done();
}

}  // namespace

TEST_CASE("kv event subscriber: precise from seq 0; a gap without replay falls back; a restart resyncs") {
  sched::ExactBlockIndex index;
  control::KvEventSubscriber sub(index, {}, "kv");
  Publisher p;
  sub.set_sources({{3, p.address, ""}});
  const uint64_t h = 77;
  const std::vector<uint64_t> prompt{h};
  // seq 0, sent again until seen (a resend of seq 0 before any other is the stream's start).
  REQUIRE(send_until(p, [&](int) { p.send("kv", be64(0), batch_storing(h)); },
                     [&] { return index.leading_blocks(3, prompt) == 1; }));
  CHECK(index.state(3) == sched::ExactState::Precise);
  // seq 5 after 0: batches 1..4 are lost and there is no replay socket.
  p.send("kv", be64(5), batch_storing(78));
  REQUIRE(send_until(p, [](int) {}, [&] { return index.state(3) == sched::ExactState::Fallback; }));
  CHECK(index.report(3).reason.find("lost batches 1..4 (no replay endpoint)") != std::string::npos);
  CHECK(index.leading_blocks(3, prompt) == -1);
  CHECK(sub.counters().gaps.load() >= 1);
  // The publisher restarts (seq 0 again): a new cache, followed exactly.
  p.send("kv", be64(0), batch_storing(79));
  // The restart is marked (state Precise, set cleared) before its batch is applied, so
  // wait for the batch's block, not for the state: the reader thread may see the two apart.
  REQUIRE(send_until(
      p, [](int) {}, [&] { return index.leading_blocks(3, std::vector<uint64_t>{79}) == 1; }));
  CHECK(index.state(3) == sched::ExactState::Precise);
  CHECK(index.leading_blocks(3, prompt) == 0);  // the old blocks are gone with the old cache
  // Other topics are not ours.
  p.send("other", be64(1), "garbage");
  p.send("kv", be64(1), batch_storing(80));
  REQUIRE(send_until(p, [](int) {}, [&] { return index.leading_blocks(3, std::vector<uint64_t>{80}) == 1; }));
  CHECK(index.state(3) == sched::ExactState::Precise);
}

TEST_CASE("kv event subscriber: hostile frames and payloads are refused and counted, never trusted") {
  sched::ExactBlockIndex index;
  kvevents::KvEventLimits limits;
  limits.max_payload_bytes = 4096;
  control::KvEventSubscriber sub(index, limits, "");
  Publisher p;
  sub.set_sources({{1, p.address, ""}});
  REQUIRE(send_until(p, [&](int) { p.send("", be64(0), batch_storing(1)); },
                     [&] { return index.state(1) == sched::ExactState::Precise; }));
  p.send("", be64(1), "\xc1 not msgpack");
  REQUIRE(send_until(p, [](int) {}, [&] { return index.state(1) == sched::ExactState::Fallback; }));
  CHECK(index.report(1).reason.find("batch 1 refused") != std::string::npos);
  CHECK(sub.counters().decode_errors.load() == 1);
  // A short sequence frame.
  p.send("", "abc", batch_storing(2));
  REQUIRE(send_until(p, [](int) {}, [&] { return sub.counters().decode_errors.load() == 2; }));
  // A frame over the size bound is dropped by ZMQ (ZMQ_MAXMSGSIZE): never applied.
  p.send("", be64(2), std::string(8192, 'x'));
  // Dropping the source purges the endpoint.
  sub.set_sources({});
  REQUIRE(send_until(p, [](int) {}, [&] { return index.state(1) == sched::ExactState::Off; }));
}
