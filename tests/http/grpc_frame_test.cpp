#include "ringgate/http/grpc_frame.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using ringgate::http::GrpcFrameError;
using ringgate::http::GrpcMessageReader;

namespace {

std::string framed(std::string_view message) {
  std::string out;
  ringgate::http::append_grpc_prefix(out, message.size());
  out.append(message);
  return out;
}

// Every message the reader hands out for `input` fed in pieces of `split` bytes.
std::vector<std::string> read_all(GrpcMessageReader& reader, std::string_view input, size_t split) {
  std::vector<std::string> out;
  for (size_t at = 0; at < input.size(); at += split) {
    std::string_view bytes = input.substr(at, split);
    std::string_view message;
    while (reader.next(bytes, message)) out.emplace_back(message);
  }
  return out;
}

}  // namespace

TEST_CASE("messages come out whole however the frames cut them") {
  const std::string input = framed("hello") + framed("") + framed(std::string(300, 'x'));
  for (size_t split : {1u, 2u, 5u, 6u, 7u, 1000u}) {
    CAPTURE(split);
    GrpcMessageReader reader(300);
    const auto messages = read_all(reader, input, split);
    REQUIRE(messages.size() == 3);
    CHECK(messages[0] == "hello");
    CHECK(messages[1].empty());
    CHECK(messages[2] == std::string(300, 'x'));
    CHECK(reader.error() == GrpcFrameError::None);
    CHECK_FALSE(reader.partial());
  }
}

TEST_CASE("the bound: a message of exactly the bound passes, one byte more is TooLarge") {
  GrpcMessageReader at_bound(10);
  CHECK(read_all(at_bound, framed(std::string(10, 'a')), 3).size() == 1);
  GrpcMessageReader over(10);
  CHECK(read_all(over, framed(std::string(11, 'a')), 3).empty());
  CHECK(over.error() == GrpcFrameError::TooLarge);
  GrpcMessageReader whole(10);  // known from the prefix alone, in one piece too
  CHECK(read_all(whole, framed(std::string(11, 'a')), 100).empty());
  CHECK(whole.error() == GrpcFrameError::TooLarge);
}

TEST_CASE("a compressed message is refused; a cut one is partial") {
  GrpcMessageReader compressed(100);
  CHECK(read_all(compressed, std::string("\x01\0\0\0\x01x", 6), 6).empty());
  CHECK(compressed.error() == GrpcFrameError::Compressed);
  GrpcMessageReader cut(100);
  CHECK(read_all(cut, framed("hello").substr(0, 7), 2).empty());
  CHECK(cut.partial());
  CHECK(cut.error() == GrpcFrameError::None);
}

TEST_CASE("grpc-timeout in milliseconds, rounded up; anything else is no deadline") {
  uint64_t ms = 0;
  CHECK((ringgate::http::parse_grpc_timeout("300m", ms) && ms == 300));
  CHECK((ringgate::http::parse_grpc_timeout("2S", ms) && ms == 2000));
  CHECK((ringgate::http::parse_grpc_timeout("1M", ms) && ms == 60000));
  CHECK((ringgate::http::parse_grpc_timeout("1H", ms) && ms == 3600000));
  CHECK((ringgate::http::parse_grpc_timeout("1001u", ms) && ms == 2));
  CHECK((ringgate::http::parse_grpc_timeout("1n", ms) && ms == 1));
  CHECK((ringgate::http::parse_grpc_timeout("99999999S", ms) && ms == 99999999000));  // 8 digits
  CHECK_FALSE(ringgate::http::parse_grpc_timeout("100000000S", ms));                  // 9 digits
  CHECK_FALSE(ringgate::http::parse_grpc_timeout("S", ms));
  CHECK_FALSE(ringgate::http::parse_grpc_timeout("10x", ms));
  CHECK_FALSE(ringgate::http::parse_grpc_timeout("-1S", ms));
}
