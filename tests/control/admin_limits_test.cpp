// The admin listener against idle and slow clients (issue 12: 64 idle connections
// used to lock /healthz out for good).
#include <doctest/doctest.h>

#include <atomic>
#include <functional>
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

  // `setup` adds routes before the loop serves (as the control plane does).
  explicit RunningAdmin(AdminLimits limits, std::function<void(AdminServer&)> setup = {}) {
    int fd = listen_loopback(addr, len, true);
    REQUIRE(fd >= 0);
    server = std::make_unique<AdminServer>(loop, fd, limits);
    server->route("/healthz", [] { return AdminResponse{200, "text/plain", "ok\n"}; });
    if (setup) setup(*server);
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

TEST_CASE("POST routes: bodies up to max_body_bytes; unfinished bodies together capped; methods kept apart") {
  AdminLimits limits;
  limits.max_body_bytes = 100000;
  limits.max_input_bytes = 150000;
  std::atomic<size_t> seen{0};
  RunningAdmin admin(limits, [&](AdminServer& server) {
    server.route_post("/echo", [&](const ringgate::http::Request& request, std::string_view query) {
      seen.store(request.body.size());
      return AdminResponse{200, "text/plain", std::string(query) + "\n"};
    });
  });
  auto post = [&](size_t body_bytes, size_t send_bytes) {
    int fd = connect_to(admin.addr, admin.len, 2000);
    REQUIRE(fd >= 0);
    send_all(fd, "POST /echo?a=b HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body_bytes) + "\r\n\r\n");
    send_all(fd, std::string(send_bytes, 'x'));
    return fd;
  };
  // A whole body within the cap is handed over, with the query string.
  int fd = post(90000, 90000);
  std::string reply = read_until(fd, "a=b\n");
  CHECK(reply.substr(0, reply.find("\r\n")) == "HTTP/1.1 200 OK");
  CHECK(seen.load() == 90000);
  close(fd);
  // Over the body cap: refused from the head.
  fd = post(100001, 0);
  reply = read_until(fd, "}}");
  CHECK(reply.substr(0, reply.find("\r\n")) == "HTTP/1.1 413 Content Too Large");
  CHECK(reply.find("\"body_too_large\"") != std::string::npos);
  close(fd);
  // Two unfinished bodies (90,000 and 60,000 bytes, with their heads) pass the 150,000
  // bytes all may hold: the second is answered 503 and closed; the first still completes.
  int first = post(95000, 90000);
  CHECK(probe(admin) == "HTTP/1.1 200 OK");  // a loop turn later: the first body is in
  int second = post(95000, 60000);
  reply = read_until(second, "retry\n");
  CHECK(reply.substr(0, reply.find("\r\n")) == "HTTP/1.1 503 Service Unavailable");
  close(second);
  send_all(first, std::string(5000, 'x'));
  reply = read_until(first, "a=b\n");
  CHECK(reply.substr(0, reply.find("\r\n")) == "HTTP/1.1 200 OK");
  close(first);
  // A POST route answers nothing else; a GET route no POST.
  fd = connect_to(admin.addr, admin.len, 2000);
  send_all(fd, "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  reply = read_until(fd, "POST\n");
  CHECK(reply.substr(0, reply.find("\r\n")) == "HTTP/1.1 405 Method Not Allowed");
  close(fd);
  fd = connect_to(admin.addr, admin.len, 2000);
  send_all(fd, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx");
  reply = read_until(fd, "allowed\n");
  CHECK(reply.substr(0, reply.find("\r\n")) == "HTTP/1.1 405 Method Not Allowed");
  close(fd);
}
