#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "ringgate/net/address.h"
#include "ringgate/net/listener.h"

using namespace ringgate::net;

TEST_CASE("addresses as the flags spell them") {
  CHECK(parse_address("127.0.0.1:8080")->to_string() == "127.0.0.1:8080");
  CHECK(parse_address(":9090")->to_string() == "0.0.0.0:9090");
  CHECK(parse_address("localhost:1")->to_string() == "127.0.0.1:1");
  CHECK(parse_address("0.0.0.0:0")->port() == 0);
  CHECK_FALSE(parse_address("127.0.0.1"));
  CHECK_FALSE(parse_address("127.0.0.1:"));
  CHECK_FALSE(parse_address("127.0.0.1:65536"));
  CHECK_FALSE(parse_address("127.0.0.1:8x"));
  CHECK_FALSE(parse_address("1.2.3:80"));
  CHECK_FALSE(parse_address("example.com:80"));
}

TEST_CASE("SO_REUSEPORT listeners share a port; a plain one cannot take it") {
  const ListenResult first = listen_tcp(*parse_address("127.0.0.1:0"), true);
  REQUIRE(first.fd >= 0);
  const Address bound = *local_address(first.fd);
  CHECK(bound.port() != 0);
  const ListenResult second = listen_tcp(bound, true);
  CHECK(second.fd >= 0);
  const ListenResult plain = listen_tcp(bound, false);
  CHECK(plain.fd == -1);
  CHECK(plain.error.find("Address already in use") != std::string::npos);
  close(first.fd);
  if (second.fd >= 0) close(second.fd);
}

// A worker's socket joins the port at start but takes connections only once it listens:
// until then the kernel hands every new connection to the group's listening members.
TEST_CASE("a bound SO_REUSEPORT socket takes no connection until it listens") {
  const ListenResult serving = listen_tcp(*parse_address("127.0.0.1:0"), true);
  REQUIRE(serving.fd >= 0);
  const Address port = *local_address(serving.fd);
  const ListenResult joining = bind_tcp(port, true);
  REQUIRE(joining.fd >= 0);
  CHECK(local_address(joining.fd)->port() == port.port());
  const auto connect_one = [&] {
    const int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(connect(c, &port.sa, port.length()) == 0);
    return c;
  };
  const auto accepted = [](int listener) {  // takes one queued connection, if there is one
    const int a = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (a >= 0) close(a);
    return a >= 0;
  };
  std::vector<int> clients;
  for (int i = 0; i < 32; ++i) clients.push_back(connect_one());
  int to_serving = 0;
  while (accepted(serving.fd)) ++to_serving;
  CHECK(to_serving == 32);  // the bound-only socket got none
  CHECK(start_listening(joining.fd).empty());
  for (int i = 0; i < 64; ++i) clients.push_back(connect_one());
  int to_joining = 0;
  while (accepted(joining.fd)) ++to_joining;
  CHECK(to_joining > 0);  // now the kernel spreads them
  CHECK(bind_tcp(port, false).fd == -1);  // a taken address fails at bind, before any listen
  for (int c : clients) close(c);
  close(serving.fd);
  close(joining.fd);
}

TEST_CASE("IPv6 literals in brackets") {
  auto a = ringgate::net::parse_address("[::1]:8000");
  REQUIRE(a);
  CHECK(a->family() == AF_INET6);
  CHECK(a->port() == 8000);
  CHECK(a->to_string() == "[::1]:8000");
  CHECK(a->length() == sizeof(sockaddr_in6));
  CHECK_FALSE(ringgate::net::parse_address("[::1:8000"));
  CHECK_FALSE(ringgate::net::parse_address("[zz]:80"));
}
