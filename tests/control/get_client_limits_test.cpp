// The control plane's GET client (scrapes, /v1/models) against a server that sends
// too much (issue 12: header bytes were unbounded).
#include <doctest/doctest.h>

#include <thread>

#include "control_test_net.h"
#include "ringgate/control/http_get_client.h"

using namespace ringgate::control;
using namespace control_test;

namespace {
// Accepts one connection, reads the request head, writes `reply`, then waits for the
// client to close.
struct OneShotServer {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int listen_fd = -1;
  std::thread thread;

  explicit OneShotServer(std::string reply) {
    listen_fd = listen_loopback(addr, len, false);
    REQUIRE(listen_fd >= 0);
    thread = std::thread([this, reply = std::move(reply)] {
      int fd = accept(listen_fd, nullptr, nullptr);
      if (fd < 0) return;
      timeval tv{5, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      read_until(fd, "\r\n\r\n");
      send_all(fd, reply);  // fails once the client gives up: fine
      char buf[256];
      while (recv(fd, buf, sizeof buf, 0) > 0) {
      }
      close(fd);
    });
  }
  ~OneShotServer() {
    thread.join();
    close(listen_fd);
  }
};

struct Outcome {
  int calls = 0;
  bool ok = false, over_limit = false;
  std::string error, body;
};

Outcome get(const OneShotServer& server, GetLimits limits) {
  EpollLoop loop;
  Outcome out;
  {
    HttpGetClient client(loop, server.addr, server.len, "127.0.0.1", "/metrics", [&](const GetResult& r) {
      ++out.calls;
      out.ok = r.ok;
      out.over_limit = r.over_limit;
      out.error = std::string(r.error);
      out.body = std::string(r.body);
    }, limits);
    client.start(now_ns() + 5'000'000'000ull);
    const uint64_t give_up = now_ns() + 6'000'000'000ull;
    while (out.calls == 0 && now_ns() < give_up) {
      loop.run_once(10);
      client.check_deadline(now_ns());
    }
  }  // the client closes its connection: the server thread ends
  return out;
}
}  // namespace

TEST_CASE("response headers past the limit fail the GET, whatever follows") {
  std::string junk(1u << 20, 'a');  // 1 MB of one header
  OneShotServer server("HTTP/1.1 200 OK\r\nX-Junk: " + junk + "\r\nContent-Length: 2\r\n\r\nok");
  Outcome out = get(server, GetLimits{});
  CHECK(out.calls == 1);
  CHECK_FALSE(out.ok);
  CHECK(out.over_limit);
  CHECK(out.error.find("headers") != std::string::npos);
}

TEST_CASE("many small headers count too") {
  std::string headers;
  for (int i = 0; i < 20000; ++i) headers += "X-" + std::to_string(i) + ": v\r\n";
  OneShotServer server("HTTP/1.1 200 OK\r\n" + headers + "Content-Length: 2\r\n\r\nok");
  Outcome out = get(server, GetLimits{});
  CHECK_FALSE(out.ok);
  CHECK(out.over_limit);
}

TEST_CASE("a body past the limit fails: declared up front or streamed in chunks") {
  GetLimits limits;
  limits.max_body_bytes = 1000;
  {
    OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n" + std::string(5000, 'x'));
    Outcome out = get(server, limits);
    CHECK_FALSE(out.ok);
    CHECK(out.over_limit);
    CHECK(out.error.find("body") != std::string::npos);
  }
  {
    std::string chunks;
    for (int i = 0; i < 20; ++i) chunks += "64\r\n" + std::string(100, 'y') + "\r\n";
    OneShotServer server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + "0\r\n\r\n");
    Outcome out = get(server, limits);
    CHECK_FALSE(out.ok);
    CHECK(out.over_limit);
  }
}

TEST_CASE("a response within the limits is read whole") {
  OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  Outcome out = get(server, GetLimits{});
  CHECK(out.ok);
  CHECK(out.body == "hello");
}
