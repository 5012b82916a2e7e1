// Backoff growth/cap/jitter, and the abort and timeouts of the blocking
// client against real loopback sockets that never answer.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "ringgate/discovery/abort_signal.h"
#include "ringgate/discovery/backoff.h"
#include "ringgate/discovery/kube_client.h"

using namespace ringgate::discovery;
using namespace std::chrono_literals;

namespace {

// A listening socket on 127.0.0.1 that accepts (via the backlog) but never replies.
struct SilentServer {
  int fd = -1;
  std::uint16_t port = 0;
  SilentServer() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 8) == 0);
    socklen_t length = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
    port = ntohs(addr.sin_port);
  }
  ~SilentServer() { ::close(fd); }
  KubeApiConfig config() const {
    KubeApiConfig c;
    c.host = "127.0.0.1";
    c.port = port;
    return c;
  }
};

}  // namespace

TEST_CASE("backoff doubles from the initial delay, caps, and jitters by at most 20%") {
  Backoff backoff(100ms, 1000ms);
  const long nominal[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (long n : nominal) {
    long got = backoff.next().count();
    CHECK(got >= n);
    CHECK(got <= n + n / 5);
  }
  backoff.reset();
  CHECK(backoff.next().count() < 200);
  Backoff huge(1ms, 60000ms);
  for (int i = 0; i < 100; ++i) CHECK(huge.next().count() <= 72000);  // no overflow past the cap
}

TEST_CASE("an abort signal wakes a sleeper on another thread") {
  AbortSignal signal;
  CHECK_FALSE(signal.triggered());
  CHECK(signal.sleep_for(1ms));
  std::thread trigger([&] {
    std::this_thread::sleep_for(50ms);
    signal.trigger();
  });
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(signal.sleep_for(30s));
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
  trigger.join();
  CHECK(signal.triggered());
  signal.trigger();  // idempotent
  CHECK(signal.triggered());
}

TEST_CASE("a GET to a server that never answers times out, or is aborted promptly") {
  SilentServer server;
  GetOptions options;
  options.idle_timeout = 200ms;
  auto ignore = [](std::string_view) { return true; };

  KubeClient quick(server.config());
  auto timed_out = quick.get("/x", options, ignore);
  REQUIRE_FALSE(timed_out.ok());
  CHECK(timed_out.error().message.find("timed out") != std::string::npos);

  AbortSignal abort;
  KubeClient patient(server.config(), &abort);
  options.idle_timeout = 60s;
  std::thread trigger([&] {
    std::this_thread::sleep_for(100ms);
    abort.trigger();
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto aborted = patient.get("/x", options, ignore);
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
  trigger.join();
  REQUIRE_FALSE(aborted.ok());
  CHECK(aborted.error().message.find("aborted") != std::string::npos);
  // Once aborted, later requests fail at once.
  CHECK_FALSE(patient.get("/x", options, ignore).ok());
}

TEST_CASE("a token file that cannot be read fails the request before connecting") {
  KubeApiConfig config;
  config.host = "127.0.0.1";
  config.port = 1;
  config.token_file = "/nonexistent/ringgate/token";
  auto result = KubeClient(config).get("/x", {}, [](std::string_view) { return true; });
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().message.find("cannot read bearer token file") != std::string::npos);
}
