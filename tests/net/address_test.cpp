#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>

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
