// The admin listener against idle and slow clients (issue 12: 64 idle connections
// used to lock /healthz out for good).
#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <thread>
#include <vector>

#include "control_test_net.h"
#include "ringgate/control/admin_server.h"

using namespace ringgate::control;
using namespace control_test;

namespace {
// The admin server on its own thread, as the control plane runs it.
struct RunningAdmin {
  EpollLoop loop;
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::unique_ptr<AdminServer> server;
  std::atomic<bool> stop{false};
  std::thread thread;

  explicit RunningAdmin(AdminLimits limits) {
    int fd = listen_loopback(addr, len, true);
    REQUIRE(fd >= 0);
    server = std::make_unique<AdminServer>(loop, fd, limits);
    server->route("/healthz", [] { return AdminResponse{200, "text/plain", "ok\n"}; });
    thread = std::thread([this] {
      while (!stop.load()) {
        loop.run_once(10);
        server->reap();
      }
    });
  }
  ~RunningAdmin() {
    stop.store(true);
    thread.join();
  }
};

// One /healthz over a fresh connection; the status line, or "" on timeout.
std::string probe(const RunningAdmin& admin) {
  int fd = connect_to(admin.addr, admin.len, 2000);
  if (fd < 0) return "";
  send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string reply = read_until(fd, "ok\n");
  close(fd);
  return reply.substr(0, reply.find("\r\n"));
}

bool closed_by_peer(int fd) {
  char c;
  const ssize_t n = recv(fd, &c, 1, 0);  // blocks up to the socket's receive timeout
  return n == 0 || (n < 0 && errno == ECONNRESET);
}
}  // namespace

TEST_CASE("/healthz is answered while 1,000 idle and slow connections sit on the port") {
  RunningAdmin admin(AdminLimits{});
  std::vector<int> idle;
  for (int i = 0; i < 1000; ++i) {
    int fd = connect_to(admin.addr, admin.len);
    REQUIRE(fd >= 0);
    if (i % 2) send_all(fd, "GET /heal");  // half of them slow: a request that never ends
    idle.push_back(fd);
  }
  for (int i = 0; i < 20; ++i) CHECK(probe(admin) == "HTTP/1.1 200 OK");
  for (int fd : idle) close(fd);
}

TEST_CASE("a full connection table evicts the idlest connection instead of refusing the probe") {
  AdminLimits limits;
  limits.max_connections = 8;
  RunningAdmin admin(limits);
  std::vector<int> idle;
  for (int i = 0; i < 64; ++i) idle.push_back(connect_to(admin.addr, admin.len));
  for (int i = 0; i < 5; ++i) CHECK(probe(admin) == "HTTP/1.1 200 OK");
  for (int fd : idle) close(fd);
}

TEST_CASE("idle connections and requests that never finish are closed at their deadlines") {
  AdminLimits limits;
  limits.idle_timeout = std::chrono::milliseconds(300);
  limits.request_timeout = std::chrono::milliseconds(300);
  RunningAdmin admin(limits);
  int idle = connect_to(admin.addr, admin.len, 5000);
  int slow = connect_to(admin.addr, admin.len, 5000);
  REQUIRE(idle >= 0);
  REQUIRE(slow >= 0);
  // The slow one keeps sending a byte at a time: never idle, never done.
  std::thread dribble([slow] {
    const std::string req = "GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for (char c : req) {
      if (send(slow, &c, 1, MSG_NOSIGNAL) != 1) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  CHECK(closed_by_peer(idle));
  CHECK(closed_by_peer(slow));
  dribble.join();
  close(idle);
  close(slow);
}
