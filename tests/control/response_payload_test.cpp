// The response ids' wire form (response_payload.h): what one replica writes the others
// read back whole, and anything else in the stream stops the reading where it breaks.
#include "ringgate/control/response_payload.h"

#include <doctest/doctest.h>

#include <string>
#include <tuple>
#include <vector>

using namespace ringgate::control;

namespace {
using Change = std::tuple<std::string, uint64_t, bool>;
std::vector<Change> read_all(std::string_view payload, PayloadStep& last, size_t& at) {
  std::vector<Change> out;
  at = 0;
  ResponseChange c;
  while ((last = next_response(payload, at, c)) == PayloadStep::Record) out.emplace_back(std::string(c.id), c.server, c.forget);
  return out;
}
}  // namespace

TEST_CASE("response payload: records written are read back whole, in order") {
  std::string p;
  REQUIRE(append_response(p, "resp_0123456789abcdef", 0xfedcba9876543210ull, false));
  REQUIRE(append_response(p, "resp_gone", 99, true));  // a forgotten id carries no server
  REQUIRE(append_response(p, std::string(kMaxResponsePayloadIdBytes, 'r'), 1, false));
  CHECK(p.size() == response_record_bytes(21) + response_record_bytes(9) + response_record_bytes(256));
  PayloadStep last;
  size_t at;
  const auto changes = read_all(p, last, at);
  CHECK(last == PayloadStep::End);
  CHECK(at == p.size());
  REQUIRE(changes.size() == 3);
  CHECK(changes[0] == Change{"resp_0123456789abcdef", 0xfedcba9876543210ull, false});
  CHECK(changes[1] == Change{"resp_gone", 0, true});
  CHECK(changes[2] == Change{std::string(256, 'r'), 1, false});
}

TEST_CASE("response payload: what cannot be written is refused, nothing appended") {
  std::string p;
  CHECK_FALSE(append_response(p, "", 1, false));
  CHECK_FALSE(append_response(p, std::string(kMaxResponsePayloadIdBytes + 1, 'r'), 1, false));
  CHECK_FALSE(append_response(p, "resp_\x01", 1, false));
  CHECK_FALSE(append_response(p, "resp_\x7f", 1, true));
  CHECK(p.empty());
}

TEST_CASE("response payload: a torn, oversized, foreign or control-byte record stops the reading there") {
  std::string good;
  REQUIRE(append_response(good, "resp_ok", 7, false));
  auto with_length = [](size_t n) {
    std::string r = "L";
    r.push_back(char(n & 0xff));
    r.push_back(char(n >> 8));
    r += std::string(n, 'r') + std::string(8, '\0');
    return r;
  };
  std::string forgotten_with_server;
  REQUIRE(append_response(forgotten_with_server, "resp_f", 0, true));
  forgotten_with_server.back() = '\x01';
  const std::string cases[] = {
      good.substr(0, good.size() - 1),             // the server cut short
      good.substr(0, 5),                           // the id cut short
      std::string("L\x00\x00", 3) + std::string(8, '\0'),  // an empty id
      with_length(kMaxResponsePayloadIdBytes + 1),  // an id beyond the bound (the bytes are there)
      with_length(0xffff).substr(0, 40),           // a length far past the payload
      "X" + good.substr(1),                        // an unknown kind
      std::string("L\x06\x00resp_\x02", 9) + std::string(8, '\0'),  // a control byte in the id
      forgotten_with_server,                       // a forgotten id with a server
  };
  for (const std::string& bad : cases) {
    CAPTURE(bad.size());
    PayloadStep last;
    size_t at;
    const auto changes = read_all(good + bad, last, at);
    CHECK(last == PayloadStep::Malformed);
    CHECK(at == good.size());  // the record before the fault was read, the fault moved nothing
    REQUIRE(changes.size() == 1);
    CHECK(std::get<0>(changes[0]) == "resp_ok");
  }
}
