#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "ringgate/http/request_parser.h"

using namespace ringgate::http;

namespace {

// Feeds `bytes` in one go and returns the result.
ParseResult parse_all(RequestParser& parser, std::string_view bytes) { return parser.feed(bytes.data(), bytes.size()); }

}  // namespace

TEST_CASE("a Content-Length request parses, byte by byte too") {
  const std::string bytes =
      "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nX-Request-Id: abc\r\n\r\nhello";
  RequestParser whole;
  ParseResult result = parse_all(whole, bytes);
  REQUIRE(result.state == ParseState::Complete);
  CHECK(result.consumed == bytes.size());
  CHECK(whole.request().method == HTTP_POST);
  CHECK(whole.request().target == "/v1/completions");
  CHECK(whole.request().body == "hello");
  CHECK(whole.request().header("x-request-id") == "abc");
  CHECK(whole.request().keep_alive);

  RequestParser drip;
  for (size_t i = 0; i < bytes.size(); ++i) {
    result = drip.feed(bytes.data() + i, 1);
    if (i + 1 < bytes.size()) REQUIRE(result.state == ParseState::NeedMore);
  }
  CHECK(result.state == ParseState::Complete);
  CHECK(drip.request().body == "hello");
}

TEST_CASE("a chunked body is decoded") {
  RequestParser parser;
  const ParseResult result = parse_all(
      parser, "POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n");
  REQUIRE(result.state == ParseState::Complete);
  CHECK(parser.request().chunked);
  CHECK(parser.request().body == "abcde");
}

TEST_CASE("pipelined requests come out one at a time, in order") {
  const std::string bytes =
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /c HTTP/1.1\r\n\r\n";
  RequestParser parser;
  size_t offset = 0;
  std::string targets;
  for (int i = 0; i < 3; ++i) {
    const ParseResult result = parser.feed(bytes.data() + offset, bytes.size() - offset);
    REQUIRE(result.state == ParseState::Complete);
    targets += parser.request().target;
    offset += result.consumed;
    parser.next();
  }
  CHECK(targets == "/a/b/c");
  CHECK(offset == bytes.size());
}

TEST_CASE("HTTP/1.0 defaults to close; keep-alive on request") {
  RequestParser a;
  REQUIRE(parse_all(a, "GET / HTTP/1.0\r\n\r\n").state == ParseState::Complete);
  CHECK_FALSE(a.request().keep_alive);
  RequestParser b;
  REQUIRE(parse_all(b, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").state == ParseState::Complete);
  CHECK(b.request().keep_alive);
  RequestParser c;
  REQUIRE(parse_all(c, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n").state == ParseState::Complete);
  CHECK_FALSE(c.request().keep_alive);
}

TEST_CASE("Expect: 100-continue is reported once the head is in") {
  RequestParser parser;
  const ParseResult result =
      parse_all(parser, "POST /v1/completions HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  CHECK(result.state == ParseState::NeedMore);
  CHECK(parser.head_complete());
  CHECK(parser.request().expect_continue);
  RequestParser other;
  CHECK(parse_all(other, "POST / HTTP/1.1\r\nContent-Length: 3\r\nExpect: something\r\n\r\n").status == 417);
}

TEST_CASE("smuggling vectors are rejected with 400") {
  const char* cases[] = {
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
      "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
      "POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n",
      "POST / HTTP/1.1\nContent-Length: 1\n\nx",
      "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
      "GET /a b HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nFoo\r\n\r\n",
      "GET / HTTP/1.1\r\nX-A: 1\r\n  folded\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
  };
  for (const char* bytes : cases) {
    CAPTURE(bytes);
    RequestParser parser;
    const ParseResult result = parse_all(parser, bytes);
    CHECK(result.state == ParseState::Error);
    CHECK(result.status == 400);
    // Once failed, the parser stays failed.
    CHECK(parse_all(parser, "GET / HTTP/1.1\r\n\r\n").state == ParseState::Error);
  }
}

TEST_CASE("limits: header bytes → 431, body bytes → 413") {
  RequestLimits limits;
  limits.max_header_bytes = 256;
  limits.max_body_bytes = 10;
  {
    RequestParser parser(limits);
    const std::string big = "GET / HTTP/1.1\r\nX-Big: " + std::string(400, 'a') + "\r\n\r\n";
    CHECK(parse_all(parser, big).status == 431);
  }
  {
    RequestParser parser(limits);  // dripped: many small fields
    ParseResult result;
    result = parse_all(parser, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 100 && result.state == ParseState::NeedMore; ++i) result = parse_all(parser, "A: b\r\n");
    CHECK(result.status == 431);
  }
  {
    RequestParser parser(limits);
    CHECK(parse_all(parser, "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n").status == 413);
  }
  {
    RequestParser parser(limits);
    const ParseResult result =
        parse_all(parser, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n");
    CHECK(result.status == 413);
  }
  {
    RequestParser parser(limits);
    CHECK(parse_all(parser, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789").state == ParseState::Complete);
  }
}

TEST_CASE("HTTP/2 preface and unknown versions are refused") {
  RequestParser parser;
  CHECK(parse_all(parser, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").state == ParseState::Error);
  RequestParser other;
  CHECK(parse_all(other, "GET / HTTP/3.1\r\n\r\n").state == ParseState::Error);
}
