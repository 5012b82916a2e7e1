// The admin server and the metrics scraper, against each other over real loopback
// sockets on one epoll loop.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <string>

#include "ringgate/control/admin_server.h"
#include "ringgate/control/http_get_client.h"

using namespace ringgate::control;

namespace {
uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

int listen_loopback(sockaddr_storage& addr, socklen_t& len) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0);
  REQUIRE(listen(fd, 16) == 0);
  len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return fd;
}

struct Outcome {
  int calls = 0;
  bool ok = false;
  int status = 0;
  std::string body, error;
};

void run_until(EpollLoop& loop, AdminServer* server, HttpGetClient& scraper, Outcome& out, int calls) {
  uint64_t give_up = now_ns() + 5'000'000'000ull;
  while (out.calls < calls && now_ns() < give_up) {
    loop.run_once(10);
    scraper.check_deadline(now_ns());
    if (server) server->reap();
  }
}
}  // namespace

TEST_CASE("scraper reads a route of the admin server over one kept-alive connection") {
  EpollLoop loop;
  sockaddr_storage addr;
  socklen_t len;
  int fd = listen_loopback(addr, len);
  AdminServer server(loop, fd);
  int renders = 0;
  server.route("/metrics", [&] {
    ++renders;
    return AdminResponse{200, "text/plain", "vllm:num_requests_waiting{model_name=\"m\"} " + std::to_string(renders) + "\n"};
  });
  Outcome out;
  HttpGetClient scraper(loop, addr, len, "127.0.0.1", "/metrics", [&](const GetResult& r) {
    ++out.calls;
    out.ok = r.ok;
    out.status = r.status;
    out.body = std::string(r.body);
    out.error = std::string(r.error);
  });
  for (int i = 1; i <= 3; ++i) {
    scraper.start(now_ns() + 1'000'000'000ull);
    run_until(loop, &server, scraper, out, i);
    REQUIRE(out.calls == i);
    CHECK(out.ok);
    CHECK(out.status == 200);
    CHECK(out.body == "vllm:num_requests_waiting{model_name=\"m\"} " + std::to_string(i) + "\n");
  }
  CHECK(scraper.connects() == 1);
}

TEST_CASE("admin server answers 404 for unknown paths and the scraper reports non-200") {
  EpollLoop loop;
  sockaddr_storage addr;
  socklen_t len;
  AdminServer server(loop, listen_loopback(addr, len));
  Outcome out;
  HttpGetClient scraper(loop, addr, len, "127.0.0.1", "/metrics", [&](const GetResult& r) {
    ++out.calls;
    out.ok = r.ok;
    out.status = r.status;
  });
  scraper.start(now_ns() + 1'000'000'000ull);
  run_until(loop, &server, scraper, out, 1);
  CHECK(out.calls == 1);
  CHECK_FALSE(out.ok);
  CHECK(out.status == 404);
}

TEST_CASE("scraping a closed port fails fast, a silent server fails at the deadline") {
  EpollLoop loop;
  sockaddr_storage addr;
  socklen_t len;
  int fd = listen_loopback(addr, len);
  Outcome out;
  auto record = [&](const GetResult& r) {
    ++out.calls;
    out.ok = r.ok;
    out.error = std::string(r.error);
  };
  {
    // Listening but never accepting or answering: the deadline must end the scrape.
    HttpGetClient scraper(loop, addr, len, "127.0.0.1", "/metrics", record);
    uint64_t started = now_ns();
    scraper.start(started + 200'000'000ull);
    run_until(loop, nullptr, scraper, out, 1);
    CHECK(out.calls == 1);
    CHECK_FALSE(out.ok);
    CHECK(out.error == "timed out");
    CHECK(now_ns() - started >= 200'000'000ull);
  }
  close(fd);  // now nothing listens there
  {
    HttpGetClient scraper(loop, addr, len, "127.0.0.1", "/metrics", record);
    scraper.start(now_ns() + 1'000'000'000ull);
    run_until(loop, nullptr, scraper, out, 2);
    CHECK(out.calls == 2);
    CHECK_FALSE(out.ok);
    CHECK(out.error != "timed out");
  }
}
