// The OTLP exporter (control/otlp_exporter.h) against a fake collector on loopback: what
// it retries and when (backoff, Retry-After), what it drops (400, a full queue, a full
// worker ring) and that a batch sent again is the same batch, exported once. The
// exporter's clock is the test's (tick(now)): backoff is checked as values, not waited for.
#include "ringgate/control/otlp_exporter.h"

#include <doctest/doctest.h>
#include <poll.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control_test_net.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "ringgate/metrics/span_builder.h"

using namespace ringgate;
using control::OtlpExporter;
using control::OtlpExporterOptions;

namespace {

constexpr uint64_t kSecond = 1000000000ull;

// A collector on loopback (its own thread, blocking sockets): each POST's body is kept, and
// answered with the next scripted answer (200 once the script is used up).
class FakeCollector {
 public:
  struct Answer {
    int status = 200;
    std::string retry_after;  // empty: no Retry-After header
  };

  FakeCollector() {
    fd_ = control_test::listen_loopback(addr_, len_, /*nonblocking=*/false);
    REQUIRE(fd_ >= 0);
    port_ = ntohs(reinterpret_cast<sockaddr_in*>(&addr_)->sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeCollector() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }
  void script(std::vector<Answer> answers) {
    std::lock_guard lock(mu_);
    answers_.assign(answers.begin(), answers.end());
  }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }
  size_t posts() { return bodies().size(); }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      timeval tv{0, 20000};
      setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::string in;
      while (!stop_) {
        const size_t head_end = in.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          const size_t cl = in.find("Content-Length: ");
          if (cl == std::string::npos) break;  // not the exporter's POST: the test fails on what it sees
          const size_t length = std::stoul(in.substr(cl + 16));
          if (in.size() >= head_end + 4 + length) {
            Answer answer;
            {
              std::lock_guard lock(mu_);
              bodies_.push_back(in.substr(head_end + 4, length));
              if (!answers_.empty()) {
                answer = answers_.front();
                answers_.pop_front();
              }
            }
            in.erase(0, head_end + 4 + length);
            std::string out = "HTTP/1.1 " + std::to_string(answer.status) + " X\r\nContent-Length: 0\r\n";
            if (!answer.retry_after.empty()) out += "Retry-After: " + answer.retry_after + "\r\n";
            control_test::send_all(c, out + "\r\n");
            continue;
          }
        }
        char buf[65536];
        const ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n == 0) break;
        if (n > 0) in.append(buf, size_t(n));
      }
      close(c);
    }
  }

  int fd_ = -1;
  sockaddr_storage addr_{};
  socklen_t len_ = 0;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::deque<Answer> answers_;
  std::vector<std::string> bodies_;
  std::thread thread_;
};

struct Fixture {
  FakeCollector collector;
  control::EpollLoop loop;
  metrics::WorkerStats worker;
  std::vector<const metrics::WorkerStats*> workers{&worker};
  std::unique_ptr<OtlpExporter> exporter;
  uint64_t now = 1000 * kSecond;  // the exporter's clock: moved by the test only
  uint32_t next_id = 1;

  explicit Fixture(OtlpExporterOptions o = {}, size_t ring_slots = 1024) {
    worker.spans.enable(ring_slots);
    o.host = "127.0.0.1";
    o.port = collector.port();
    exporter = std::make_unique<OtlpExporter>(loop, o);
    REQUIRE(exporter->ok());
  }
  // n spans into the worker's ring; false when the ring was full for some.
  bool spans(size_t n) {
    bool all = true;
    for (size_t i = 0; i < n; ++i) {
      metrics::SpanRecord* r = worker.spans.claim();
      if (r == nullptr) {
        all = false;
        continue;
      }
      metrics::SpanStart start;
      start.trace_id[0] = 1;
      const uint32_t id = next_id++;
      std::memcpy(start.span_id.data(), &id, sizeof id);
      start.name = "span";
      start.start_ns = start.end_ns = 1;
      metrics::SpanBuilder(*r, start, 0).finish();
      worker.spans.commit();
    }
    return all;
  }
  void tick() { exporter->tick(workers, now); }
  // Ticks (at the test's clock) and runs the loop until `done`, within 5 s of real time.
  template <typename F>
  bool until(F&& done) {
    const uint64_t deadline = control_test::now_ns() + 5 * kSecond;
    while (!done()) {
      if (control_test::now_ns() > deadline) return false;
      tick();
      loop.run_once(5);
    }
    return true;
  }
};

// The spans of a POST's body, by their ids' first 4 bytes.
std::vector<uint32_t> span_ids(const std::string& body) {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest request;
  REQUIRE(request.ParseFromString(body));
  std::vector<uint32_t> ids;
  for (const auto& rs : request.resource_spans())
    for (const auto& ss : rs.scope_spans())
      for (const auto& s : ss.spans()) {
        uint32_t id = 0;
        std::memcpy(&id, s.span_id().data(), sizeof id);
        ids.push_back(id);
      }
  return ids;
}

OtlpExporterOptions small_batches() {
  OtlpExporterOptions o;
  o.max_batch_spans = 4;  // a full batch goes at once (no batch_delay)
  return o;
}

}  // namespace

TEST_CASE("200: a full batch goes at once; one not full waits batch_delay") {
  Fixture f(small_batches());
  f.spans(6);
  REQUIRE(f.until([&] { return f.exporter->exported() == 4; }));
  CHECK(span_ids(f.collector.bodies().at(0)) == std::vector<uint32_t>{1, 2, 3, 4});
  f.tick();
  f.loop.run_once(5);
  CHECK(f.collector.posts() == 1);  // two spans wait for more
  CHECK(f.exporter->queued() == 2);
  f.now += 200 * 1000000ull;  // batch_delay passed
  REQUIRE(f.until([&] { return f.exporter->exported() == 6; }));
  CHECK(span_ids(f.collector.bodies().at(1)) == std::vector<uint32_t>{5, 6});
  CHECK(f.exporter->queued() == 0);
}

TEST_CASE("503, 503, 429, 200: sent again after 1 s, 2 s, then 4 s; the same batch, exported once") {
  Fixture f(small_batches());
  f.collector.script({{503, ""}, {503, ""}, {429, ""}, {200, ""}});
  f.spans(4);
  const uint64_t failed_at = f.now;
  REQUIRE(f.until([&] { return f.exporter->retry_at_ns() != 0; }));
  CHECK(f.exporter->retry_at_ns() == failed_at + 1 * kSecond);
  CHECK(f.exporter->failures(0) == 1);  // retryable_status
  // Spans that arrive meanwhile wait behind the batch.
  f.spans(4);
  f.now += kSecond - 1;
  f.tick();
  f.loop.run_once(5);
  CHECK(f.collector.posts() == 1);
  f.now += 1;
  const uint64_t second = f.now;
  REQUIRE(f.until([&] { return f.exporter->retry_at_ns() != 0 && f.exporter->failures(0) == 2; }));
  CHECK(f.exporter->retry_at_ns() == second + 2 * kSecond);
  f.now += 2 * kSecond;
  const uint64_t third = f.now;
  REQUIRE(f.until([&] { return f.exporter->failures(0) == 3; }));
  CHECK(f.exporter->retry_at_ns() == third + 4 * kSecond);
  f.now += 4 * kSecond;
  REQUIRE(f.until([&] { return f.exporter->exported() == 8; }));
  const std::vector<std::string> bodies = f.collector.bodies();
  REQUIRE(bodies.size() == 5);
  for (size_t i = 1; i < 4; ++i) CHECK(bodies[i] == bodies[0]);  // the batch itself, again
  CHECK(span_ids(bodies[0]) == std::vector<uint32_t>{1, 2, 3, 4});
  CHECK(span_ids(bodies[4]) == std::vector<uint32_t>{5, 6, 7, 8});  // then the next, once
  CHECK(f.exporter->dropped(1, f.workers) == 0);
}

TEST_CASE("Retry-After: the collector's delay (in seconds), up to backoff_max; past an hour or not a number: backoff") {
  OtlpExporterOptions o = small_batches();
  o.backoff_max = std::chrono::seconds(30);
  Fixture f(o);
  f.collector.script({{503, "3"}, {429, "120"}, {503, "Wed, 21 Oct 2015 07:28:00 GMT"}, {503, "7200"}});
  f.spans(4);
  uint64_t at = f.now;
  REQUIRE(f.until([&] { return f.exporter->failures(0) == 1 && f.exporter->retry_at_ns() != 0; }));
  CHECK(f.exporter->retry_at_ns() == at + 3 * kSecond);
  f.now = at = f.exporter->retry_at_ns();
  REQUIRE(f.until([&] { return f.exporter->failures(0) == 2 && f.exporter->retry_at_ns() != 0; }));
  CHECK(f.exporter->retry_at_ns() == at + 30 * kSecond);  // 120 s asked, 30 s at most
  f.now = at = f.exporter->retry_at_ns();
  REQUIRE(f.until([&] { return f.exporter->failures(0) == 3 && f.exporter->retry_at_ns() != 0; }));
  CHECK(f.exporter->retry_at_ns() == at + 4 * kSecond);  // an HTTP date: the backoff (third: 4 s)
  f.now = at = f.exporter->retry_at_ns();
  REQUIRE(f.until([&] { return f.exporter->failures(0) == 4 && f.exporter->retry_at_ns() != 0; }));
  CHECK(f.exporter->retry_at_ns() == at + 8 * kSecond);
  f.now = f.exporter->retry_at_ns();
  REQUIRE(f.until([&] { return f.exporter->exported() == 4; }));
}

TEST_CASE("400 drops the batch (never sent again, counted as rejected); the next batch goes") {
  Fixture f(small_batches());
  f.collector.script({{400, ""}});
  f.spans(4);
  REQUIRE(f.until([&] { return f.exporter->failures(1) == 1; }));
  CHECK(f.exporter->dropped(2, f.workers) == 4);  // rejected
  CHECK(f.exporter->retry_at_ns() == 0);
  CHECK(f.exporter->queued() == 0);
  f.spans(4);
  REQUIRE(f.until([&] { return f.exporter->exported() == 4; }));
  const std::vector<std::string> bodies = f.collector.bodies();
  REQUIRE(bodies.size() == 2);
  CHECK(span_ids(bodies[1]) == std::vector<uint32_t>{5, 6, 7, 8});
}

TEST_CASE("the queue is bounded: spans beyond it are dropped as queue_full, the batch in flight counted in it") {
  OtlpExporterOptions o = small_batches();
  o.max_queue_spans = 10;
  o.batch_delay = std::chrono::milliseconds(0);  // the last two go without waiting for more
  Fixture f(o);
  f.collector.script({{503, ""}});
  f.spans(4);
  REQUIRE(f.until([&] { return f.exporter->retry_at_ns() != 0; }));
  CHECK(f.exporter->queued() == 4);
  f.spans(20);
  f.tick();
  CHECK(f.exporter->queued() == 10);
  CHECK(f.exporter->dropped(1, f.workers) == 14);
  f.now = f.exporter->retry_at_ns();
  REQUIRE(f.until([&] { return f.exporter->queued() == 0; }));
  CHECK(f.exporter->exported() == 10);
  std::vector<uint32_t> all;
  for (const std::string& body : f.collector.bodies()) {
    const std::vector<uint32_t> ids = span_ids(body);
    all.insert(all.end(), ids.begin(), ids.end());
  }
  // The failed batch twice (its retry), then the six that fitted: 5..10.
  CHECK(all == std::vector<uint32_t>{1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
}

TEST_CASE("a full worker ring drops the span and counts it as ring_full; the worker never waits") {
  Fixture f(small_batches(), /*ring_slots=*/4);
  CHECK_FALSE(f.spans(6));  // 4 fit before the control thread drains
  CHECK(f.exporter->dropped(0, f.workers) == 2);
  REQUIRE(f.until([&] { return f.exporter->exported() == 4; }));
  CHECK(f.spans(4));  // drained: room again
  REQUIRE(f.until([&] { return f.exporter->exported() == 8; }));
  CHECK(f.exporter->dropped(0, f.workers) == 2);
}

TEST_CASE("the collector down: batches fail (connection), are kept up to the bound, the rest dropped") {
  OtlpExporterOptions o = small_batches();
  o.max_queue_spans = 8;
  int port = 0;
  {
    FakeCollector gone;  // a port that was just listened on, now closed
    port = gone.port();
  }
  metrics::WorkerStats worker;
  worker.spans.enable(64);
  std::vector<const metrics::WorkerStats*> workers{&worker};
  control::EpollLoop loop;
  o.host = "127.0.0.1";
  o.port = uint16_t(port);
  OtlpExporter exporter(loop, o);
  for (int i = 0; i < 12; ++i) {
    metrics::SpanRecord* r = worker.spans.claim();
    REQUIRE(r != nullptr);
    metrics::SpanStart start;
    start.trace_id[0] = start.span_id[0] = 1;
    metrics::SpanBuilder(*r, start, 0).finish();
    worker.spans.commit();
  }
  const uint64_t now = 1000 * kSecond;
  const uint64_t deadline = control_test::now_ns() + 5 * kSecond;
  while (exporter.failures(3) == 0 && control_test::now_ns() < deadline) {
    exporter.tick(workers, now);
    loop.run_once(5);
  }
  CHECK(exporter.failures(3) == 1);  // connection
  CHECK(exporter.retry_at_ns() == now + kSecond);
  CHECK(exporter.queued() == 8);
  CHECK(exporter.dropped(1, workers) == 4);
  CHECK(exporter.exported() == 0);
}
