// The epoll backend's batched I/O (Linux AIO through io_submit, used when the process
// ignores SIGPIPE, as ringgate does): AioBatch itself, and what the backend keeps
// promising with it (socketpairs, no network).
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <string>
#include <vector>

#include "ringgate/net/aio_batch.h"
#include "ringgate/net/loop.h"

using namespace ringgate::net;

namespace {

struct Pair {
  int a = -1, b = -1;
  Pair() { REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, &a) == 0); }
  ~Pair() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
  }
};

struct Probe : IoHandler {
  std::string received;
  std::vector<Completion> completions;
  std::function<void(const Completion&)> on_data;
  void on_completion(const Completion& c) override {
    completions.push_back(c);
    if (c.op == IoOp::Recv && c.res > 0) {
      received.append(c.data, size_t(c.res));
      if (on_data) on_data(c);
    }
  }
  int count(IoOp op) const {
    int n = 0;
    for (const auto& c : completions) n += c.op == op;
    return n;
  }
};

void run_until(Loop& loop, const std::function<bool()>& done) {
  for (int i = 0; i < 200 && !done(); ++i) loop.run_once(10);
}

Loop& epoll_loop(Loop& loop) {
  LoopOptions options;
  options.backend = BackendKind::Epoll;
  options.buffer_size = 4096;
  REQUIRE(loop.init(options).empty());
  return loop;
}

}  // namespace

TEST_CASE("AioBatch: socket writes and reads in one io_submit, results in order") {
  signal(SIGPIPE, SIG_IGN);
  AioBatch batch;
  REQUIRE(batch.init(8).empty());
  Pair p;
  iovec iov[2] = {{const_cast<char*>("ab"), 2}, {const_cast<char*>("cd"), 2}};
  char in[16] = {}, idle[16] = {};
  batch.add_write(p.a, "hello", 5, 1);
  batch.add_writev(p.a, iov, 2, 2);
  batch.add_read(p.b, in, sizeof in, 3);
  batch.add_read(p.b, idle, sizeof idle, 4);  // nothing left: -EAGAIN, not a wait
  std::vector<std::pair<uint64_t, int64_t>> results;
  batch.run([&](uint64_t tag, int64_t res) { results.push_back({tag, res}); }, [](uint64_t) { FAIL("refused"); });
  REQUIRE(results.size() == 4);
  CHECK(results[0] == std::pair<uint64_t, int64_t>{1, 5});
  CHECK(results[1] == std::pair<uint64_t, int64_t>{2, 4});
  CHECK(results[2] == std::pair<uint64_t, int64_t>{3, 9});
  CHECK(std::string(in, 9) == "helloabcd");
  CHECK(results[3] == std::pair<uint64_t, int64_t>{4, -EAGAIN});

  // EOF reads 0; a write to a closed peer is -EPIPE (and no SIGPIPE kills us); an fd
  // that is no socket at all is refused by io_submit and handed back.
  ::close(p.a);
  p.a = -1;
  batch.add_read(p.b, in, sizeof in, 5);
  batch.add_write(p.b, "x", 1, 6);
  batch.add_write(-1, "x", 1, 7);
  results.clear();
  std::vector<uint64_t> refused;
  batch.run([&](uint64_t tag, int64_t res) { results.push_back({tag, res}); }, [&](uint64_t tag) { refused.push_back(tag); });
  REQUIRE(results.size() == 2);
  CHECK(results[0] == std::pair<uint64_t, int64_t>{5, 0});
  CHECK(results[1] == std::pair<uint64_t, int64_t>{6, -EPIPE});
  CHECK(refused == std::vector<uint64_t>{7});
}

TEST_CASE("AioBatch refuses to start while SIGPIPE is not ignored") {
  signal(SIGPIPE, SIG_DFL);
  AioBatch batch;
  CHECK_FALSE(batch.init(8).empty());
  CHECK_FALSE(batch.usable());
  signal(SIGPIPE, SIG_IGN);
}

TEST_CASE("epoll batch: receives of one turn each reach their handler; a send waits for room") {
  signal(SIGPIPE, SIG_IGN);
  Loop loop;
  epoll_loop(loop);
  Pair p1, p2;
  Probe h1, h2;
  loop.recv(p1.a, &h1);
  loop.recv(p2.a, &h2);
  REQUIRE(::write(p1.b, "one", 3) == 3);
  REQUIRE(::write(p2.b, "two", 3) == 3);
  run_until(loop, [&] { return h1.received == "one" && h2.received == "two"; });
  CHECK(h1.received == "one");
  CHECK(h2.received == "two");

  // More than the socket takes: a short send, then the rest once the peer reads.
  const std::string big(4 << 20, 'x');
  loop.send(p1.a, big.data(), big.size(), &h1);
  run_until(loop, [&] { return h1.count(IoOp::Send) == 1; });
  REQUIRE(h1.count(IoOp::Send) == 1);
  const int32_t first = h1.completions.back().res;
  CHECK(first > 0);
  CHECK(size_t(first) < big.size());
  loop.send(p1.a, big.data() + first, big.size() - size_t(first), &h1);
  for (int i = 0; i < 3; ++i) loop.run_once(0);
  CHECK(h1.count(IoOp::Send) == 1);  // no room: it waits (no -EAGAIN completion)
  size_t drained = 0;
  char buf[65536];
  run_until(loop, [&] {
    ssize_t n;
    while ((n = ::read(p1.b, buf, sizeof buf)) > 0) drained += size_t(n);
    return h1.count(IoOp::Send) == 2;
  });
  REQUIRE(h1.count(IoOp::Send) == 2);
  CHECK(h1.completions.back().res > 0);
  loop.cancel_fd(p1.a, &h1);
  loop.cancel_fd(p2.a, &h2);
  run_until(loop, [&] { return h1.pending_ops() == 0 && h2.pending_ops() == 0; });
}

TEST_CASE("epoll batch: bytes read before a cancel reach the handler before its final completion") {
  signal(SIGPIPE, SIG_IGN);
  Loop loop;
  epoll_loop(loop);
  Pair p1, p2;
  Probe h1, h2;
  loop.recv(p1.a, &h1);
  loop.recv(p2.a, &h2);
  // Both arrive for the same turn; whichever handler hears first cancels the other's
  // receive (as an exchange pausing a connection would).
  h1.on_data = [&](const Completion&) { if (h2.received.empty()) loop.cancel_recv(p2.a, &h1); };
  h2.on_data = [&](const Completion&) { if (h1.received.empty()) loop.cancel_recv(p1.a, &h2); };
  REQUIRE(::write(p1.b, "one", 3) == 3);
  REQUIRE(::write(p2.b, "two", 3) == 3);
  run_until(loop, [&] { return h1.pending_ops() == 0 || h2.pending_ops() == 0; });
  // The cancelled one: its bytes (read in the same batch) first, then -ECANCELED.
  Probe& cancelled = h1.pending_ops() == 0 ? h1 : h2;
  REQUIRE(cancelled.completions.size() == 2);
  CHECK(cancelled.completions[0].res == 3);
  CHECK(cancelled.completions[0].more);
  CHECK(cancelled.completions[1].res == -ECANCELED);
  CHECK_FALSE(cancelled.completions[1].more);
  loop.cancel_fd(p1.a, &h1);
  loop.cancel_fd(p2.a, &h2);
  run_until(loop, [&] { return h1.pending_ops() == 0 && h2.pending_ops() == 0; });
}
