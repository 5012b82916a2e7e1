// Both event-loop backends keep the same completion contract (socketpairs, no network).
#include <functional>
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "ringgate/net/listener.h"
#include "ringgate/net/loop.h"

using namespace ringgate::net;

namespace {

struct Probe : IoHandler {
  std::string received;
  std::vector<Completion> completions;
  bool* deleted = nullptr;
  ~Probe() override {
    if (deleted) *deleted = true;
  }
  void on_completion(const Completion& c) override {
    completions.push_back(c);
    if (c.op == IoOp::Recv && c.res > 0) received.append(c.data, size_t(c.res));
  }
  int count(IoOp op) const {
    int n = 0;
    for (const auto& c : completions) n += c.op == op;
    return n;
  }
};

bool usable(BackendKind kind) { return kind == BackendKind::Epoll || io_uring_refusal().empty(); }

// 16 provided buffers of 4 KiB: small enough that a test can fill most of them.
void init(Loop& loop, BackendKind kind) {
  LoopOptions options;
  options.backend = kind;
  options.buffer_count = 16;
  options.buffer_size = 4096;
  REQUIRE(loop.init(options).empty());
}

void run_until(Loop& loop, const std::function<bool()>& done) {
  for (int i = 0; i < 200 && !done(); ++i) loop.run_once(10);
}

}  // namespace

TEST_CASE("recv multishot, send, cancel by fd and deferred deletion on both backends") {
  for (BackendKind kind : {BackendKind::IoUring, BackendKind::Epoll}) {
    if (!usable(kind)) continue;
    CAPTURE(backend_kind_name(kind));
    Loop loop;
    init(loop, kind);
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    bool deleted = false;
    auto* probe = new Probe;
    probe->deleted = &deleted;
    loop.recv(sv[0], probe);
    REQUIRE(::write(sv[1], "hello", 5) == 5);
    run_until(loop, [&] { return probe->received == "hello"; });
    CHECK(probe->received == "hello");
    CHECK(probe->completions.back().more);  // still armed

    loop.send(sv[0], "pong", 4, probe);
    run_until(loop, [&] { return probe->count(IoOp::Send) == 1; });
    char buf[8] = {};
    run_until(loop, [&] { return ::read(sv[1], buf, sizeof buf) == 4; });
    CHECK(std::string(buf, 4) == "pong");

    // Retired with a receive still armed: not deleted until its final completion.
    loop.cancel_fd(sv[0], probe);
    loop.retire(probe);
    CHECK_FALSE(deleted);
    run_until(loop, [&] { return deleted; });
    CHECK(deleted);
    ::close(sv[0]);
    ::close(sv[1]);
  }
}

TEST_CASE("EOF ends the multishot receive with res 0 on both backends") {
  for (BackendKind kind : {BackendKind::IoUring, BackendKind::Epoll}) {
    if (!usable(kind)) continue;
    Loop loop;
    init(loop, kind);
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    Probe probe;
    loop.recv(sv[0], &probe);
    shutdown(sv[1], SHUT_WR);
    run_until(loop, [&] { return probe.pending_ops() == 0; });
    REQUIRE(!probe.completions.empty());
    CHECK(probe.completions.back().res == 0);
    CHECK_FALSE(probe.completions.back().more);
    ::close(sv[0]);
    ::close(sv[1]);
  }
}

TEST_CASE("accept multishot and connect on both backends") {
  for (BackendKind kind : {BackendKind::IoUring, BackendKind::Epoll}) {
    if (!usable(kind)) continue;
    Loop loop;
    init(loop, kind);
    ListenResult l = listen_tcp(*parse_address("127.0.0.1:0"), false);
    REQUIRE(l.fd >= 0);
    const Address at = *local_address(l.fd);
    Probe acceptor, connector;
    loop.accept(l.fd, &acceptor);
    const int fd = new_client_socket();
    loop.connect(fd, &at.sa, at.length(), &connector);
    run_until(loop, [&] { return acceptor.count(IoOp::Accept) >= 1 && connector.count(IoOp::Connect) == 1; });
    REQUIRE(acceptor.count(IoOp::Accept) >= 1);
    CHECK(acceptor.completions[0].res >= 0);
    CHECK(acceptor.completions[0].more);
    CHECK(connector.completions[0].res == 0);
    ::close(acceptor.completions[0].res);
    loop.cancel_fd(l.fd, &acceptor);
    loop.cancel_fd(fd, &connector);
    run_until(loop, [&] { return acceptor.pending_ops() == 0 && connector.pending_ops() == 0; });
    ::close(fd);
    ::close(l.fd);
  }
}

TEST_CASE("a refused connect completes with -ECONNREFUSED on both backends") {
  for (BackendKind kind : {BackendKind::IoUring, BackendKind::Epoll}) {
    if (!usable(kind)) continue;
    Loop loop;
    init(loop, kind);
    ListenResult l = listen_tcp(*parse_address("127.0.0.1:0"), false);
    const Address at = *local_address(l.fd);
    ::close(l.fd);  // nothing listens there now
    Probe connector;
    const int fd = new_client_socket();
    loop.connect(fd, &at.sa, at.length(), &connector);
    run_until(loop, [&] { return connector.pending_ops() == 0; });
    REQUIRE(connector.completions.size() == 1);
    CHECK(connector.completions[0].res == -ECONNREFUSED);
    ::close(fd);
  }
}

// A client that sends a large body at once: the first receives of it say more is queued
// (ClientConnection then leaves the multishot running rather than switching to a direct
// receive it does not need); the one that empties the socket does not. io_uring only: the
// epoll backend never sets it.
TEST_CASE("a receive says whether the socket held more bytes after it") {
  for (BackendKind kind : {BackendKind::IoUring, BackendKind::Epoll}) {
    if (!usable(kind)) continue;
    CAPTURE(backend_kind_name(kind));
    Loop loop;
    init(loop, kind);
    ListenResult l = listen_tcp(*parse_address("127.0.0.1:0"), false);
    REQUIRE(l.fd >= 0);
    const Address at = *local_address(l.fd);
    const int client = new_client_socket();
    REQUIRE((::connect(client, &at.sa, at.length()) == 0 || errno == EINPROGRESS));  // loopback: done at once
    int server = -1;
    for (int i = 0; i < 200 && server < 0; ++i) {
      server = ::accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (server < 0) ::usleep(1000);
    }
    REQUIRE(server >= 0);
    const std::string body(12 * 4096, 'x');  // 12 of the 16 receive buffers
    for (size_t sent = 0, tries = 0; sent < body.size() && tries < 1000; ++tries) {  // all queued before the receive
      const ssize_t n = ::write(client, body.data() + sent, body.size() - sent);
      if (n > 0) sent += size_t(n);
      else ::usleep(1000);
    }
    Probe probe;
    loop.recv(server, &probe);
    run_until(loop, [&] { return probe.received.size() == body.size(); });
    REQUIRE(probe.received == body);
    REQUIRE(probe.completions.size() >= 2);
    CHECK(probe.completions.front().queued == (kind == BackendKind::IoUring));
    CHECK_FALSE(probe.completions.back().queued);
    loop.cancel_fd(server, &probe);
    run_until(loop, [&] { return probe.pending_ops() == 0; });
    ::close(server);
    ::close(client);
    ::close(l.fd);
  }
}

TEST_CASE("at_turn_end: once a turn, after its completions, never for a retired handler, on both backends") {
  struct TurnProbe : Probe {
    Loop* loop = nullptr;
    std::vector<std::string>* log = nullptr;
    TurnProbe* then = nullptr;  // asks for this one's turn end from its own
    void on_completion(const Completion& c) override {
      Probe::on_completion(c);
      if (c.op == IoOp::Recv && c.res > 0) {
        log->push_back("recv " + received);
        loop->at_turn_end(this);  // every receive asks; the turn end runs once
      }
    }
    void on_turn_end() override {
      log->push_back("turn end " + received);
      if (then) loop->at_turn_end(then);
    }
  };
  for (BackendKind kind : {BackendKind::IoUring, BackendKind::Epoll}) {
    if (!usable(kind)) continue;
    CAPTURE(backend_kind_name(kind));
    Loop loop;
    init(loop, kind);
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    std::vector<std::string> log;
    auto* probe = new TurnProbe;
    auto* second = new TurnProbe;
    probe->loop = second->loop = &loop;
    probe->log = second->log = &log;
    probe->then = second;
    loop.recv(sv[0], probe);
    REQUIRE(::write(sv[1], "ab", 2) == 2);
    run_until(loop, [&] { return !log.empty(); });
    REQUIRE(log.size() == 3);
    CHECK(log[0] == "recv ab");
    CHECK(log[1] == "turn end ab");
    CHECK(log[2] == "turn end ");  // asked for during the turn end: run in the same turn
    // Asked for twice in one turn: once.
    loop.at_turn_end(probe);
    loop.at_turn_end(probe);
    loop.run_once(0);
    CHECK(log.size() == 5);  // probe's, then second's (probe asks for it again)
    // A handler retired after asking is not called.
    log.clear();
    loop.at_turn_end(second);
    loop.retire(second);
    loop.run_once(0);
    CHECK(log.empty());
    bool deleted = false;
    probe->deleted = &deleted;
    loop.cancel_fd(sv[0], probe);
    loop.retire(probe);
    run_until(loop, [&] { return deleted; });
    ::close(sv[0]);
    ::close(sv[1]);
  }
}
