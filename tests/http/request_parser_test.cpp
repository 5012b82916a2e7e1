#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>

#include "ringgate/http/request_parser.h"

using namespace ringgate::http;

// This test binary's allocator can be told to fail every allocation of at least N
// bytes, to see what the parser does when a callback's std::string cannot grow.
namespace {
size_t fail_allocations_from = SIZE_MAX;
}  // namespace

void* operator new(size_t n) {
  if (n >= fail_allocations_from) throw std::bad_alloc();
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace {

// Makes allocations of `bytes` or more fail until the end of the scope.
struct FailAllocations {
  explicit FailAllocations(size_t bytes) { fail_allocations_from = bytes; }
  ~FailAllocations() { fail_allocations_from = SIZE_MAX; }
};

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
  const ParseResult result = parse_all(parser,
                                       "POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                                       "chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n");
  REQUIRE(result.state == ParseState::Complete);
  CHECK(parser.request().chunked);
  CHECK(parser.request().body == "abcde");
}

TEST_CASE("pipelined requests come out one at a time, in order") {
  const std::string bytes =
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhiGET /c "
      "HTTP/1.1\r\nHost: x\r\n\r\n";
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
  REQUIRE(parse_all(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").state == ParseState::Complete);
  CHECK_FALSE(c.request().keep_alive);
}

TEST_CASE("Expect: 100-continue is reported once the head is in") {
  RequestParser parser;
  const ParseResult result = parse_all(
      parser, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  CHECK(result.state == ParseState::NeedMore);
  CHECK(parser.head_complete());
  CHECK(parser.request().expect_continue);
  RequestParser other;
  CHECK(parse_all(other, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: something\r\n\r\n").status == 417);
}

TEST_CASE("smuggling vectors are rejected with 400") {
  const char* cases[] = {
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
      "POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n",
      "POST / HTTP/1.1\nContent-Length: 1\n\nx",
      "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
      "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nFoo\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
  };
  for (const char* bytes : cases) {
    CAPTURE(bytes);
    RequestParser parser;
    const ParseResult result = parse_all(parser, bytes);
    CHECK(result.state == ParseState::Error);
    CHECK(result.status == 400);
    // Once failed, the parser stays failed.
    CHECK(parse_all(parser, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").state == ParseState::Error);
  }
}

TEST_CASE("limits: header bytes → 431, body bytes → 413") {
  RequestLimits limits;
  limits.max_header_bytes = 256;
  limits.max_body_bytes = 10;
  {
    RequestParser parser(limits);
    const std::string big = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(400, 'a') + "\r\n\r\n";
    CHECK(parse_all(parser, big).status == 431);
  }
  {
    RequestParser parser(limits);  // dripped: many small fields
    ParseResult result;
    result = parse_all(parser, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 100 && result.state == ParseState::NeedMore; ++i) result = parse_all(parser, "A: b\r\n");
    CHECK(result.status == 431);
  }
  {
    RequestParser parser(limits);
    CHECK(parse_all(parser, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n").status == 413);
  }
  {
    RequestParser parser(limits);
    const ParseResult result = parse_all(
        parser, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n");
    CHECK(result.status == 413);
  }
  {
    RequestParser parser(limits);
    CHECK(parse_all(parser, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789").state ==
          ParseState::Complete);
  }
}

TEST_CASE("HTTP/2 preface and unknown versions are refused") {
  RequestParser parser;
  CHECK(parse_all(parser, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").state == ParseState::Error);
  RequestParser other;
  CHECK(parse_all(other, "GET / HTTP/3.1\r\n\r\n").state == ParseState::Error);
}

// A head refused with 400 whether it arrives whole or byte by byte (the bytes that
// make it bad may arrive in different reads).
static void check_refused_400(const char* bytes) {
  CAPTURE(bytes);
  RequestParser whole;
  const ParseResult result = parse_all(whole, bytes);
  CHECK(result.state == ParseState::Error);
  CHECK(result.status == 400);
  RequestParser drip;
  ParseResult last;
  for (const char* c = bytes; *c && last.state == ParseState::NeedMore; ++c) last = drip.feed(c, 1);
  CHECK(last.state == ParseState::Error);
  CHECK(last.status == 400);
}

TEST_CASE("whitespace between a header name and its colon is refused (RFC 9112 §5.1)") {
  const char* cases[] = {
      "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
      "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX-Session-Id  : s\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 3\r\n\r\nabc",
  };
  for (const char* bytes : cases) check_refused_400(bytes);
  // Whitespace inside a value, and around it, is fine.
  RequestParser parser;
  const ParseResult ok = parse_all(parser, "GET / HTTP/1.1\r\nHost:   a b\r\nX-A:b\r\n\r\n");
  REQUIRE(ok.state == ParseState::Complete);
  CHECK(parser.request().header("host") == "a b");
  CHECK(parser.request().header("x-a") == "b");
}

TEST_CASE("a bare CR in the head is refused (RFC 9112 §2.2)") {
  // llhttp ends a line at a bare CR, so "X B" below would reach the headers as a name
  // with a space in it, past the whitespace rule (found by fuzz_request).
  const char* cases[] = {
      "POST / HTTP/1.0\r\nX-A:\rX B: chunked\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
      "GET / HTTP/1.1\rHost: a\r\n\r\n",
  };
  for (const char* bytes : cases) check_refused_400(bytes);
}

TEST_CASE("chunked trailers never become request headers") {
  const std::string bytes =
      "POST /v1/completions HTTP/1.1\r\nHost: real\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\nX-Session-Id: from-trailer\r\nHost: evil\r\nContent-Length: 99\r\n\r\n"
      "GET /next HTTP/1.1\r\nHost: n\r\n\r\n";
  for (size_t step : {bytes.size(), size_t(1), size_t(7)}) {
    CAPTURE(step);
    RequestParser parser;
    ParseResult result;
    size_t offset = 0;
    while (offset < bytes.size()) {
      const size_t n = std::min(step, bytes.size() - offset);
      result = parser.feed(bytes.data() + offset, n);
      offset += result.consumed;
      if (result.state != ParseState::NeedMore) break;
    }
    REQUIRE(result.state == ParseState::Complete);
    const Request& r = parser.request();
    CHECK(r.body == "abc");
    CHECK(r.header("host") == "real");
    CHECK(r.header("x-session-id").empty());
    CHECK(r.header("content-length").empty());
    size_t hosts = 0;
    for (const auto& h : r.headers) hosts += h.name == "host";
    CHECK(hosts == 1);
    CHECK(r.headers.size() == 2);  // host, transfer-encoding
    // The connection goes on with the next request, parsed on its own.
    parser.next();
    while (offset < bytes.size()) {
      const size_t n = std::min(step, bytes.size() - offset);
      result = parser.feed(bytes.data() + offset, n);
      offset += result.consumed;
      if (result.state != ParseState::NeedMore) break;
    }
    REQUIRE(result.state == ParseState::Complete);
    CHECK(parser.request().target == "/next");
    CHECK(parser.request().header("host") == "n");
  }
}

TEST_CASE("trailer bytes are bounded like header bytes") {
  RequestLimits limits;
  limits.max_header_bytes = 256;
  RequestParser parser(limits);
  ParseResult result =
      parse_all(parser, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n");
  REQUIRE(result.state == ParseState::NeedMore);
  for (int i = 0; i < 200 && result.state == ParseState::NeedMore; ++i) result = parse_all(parser, "X-T: 0123456789\r\n");
  CHECK(result.state == ParseState::Error);
  CHECK(result.status == 431);
}

TEST_CASE("a chunk size above the body limit is refused with 413 before its data arrives") {
  RequestLimits limits;
  limits.max_body_bytes = 1000;
  {
    RequestParser parser(limits);
    const ParseResult result =
        parse_all(parser, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n");  // 1001
    CHECK(result.state == ParseState::Error);
    CHECK(result.status == 413);
  }
  {
    RequestParser parser(limits);  // a later chunk that would overflow what is already buffered
    const ParseResult result =
        parse_all(parser, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1f4\r\n" +
                              std::string(500, 'a') + "\r\n1f5\r\n");
    CHECK(result.state == ParseState::Error);
    CHECK(result.status == 413);
  }
  {
    RequestParser parser(limits);  // exactly the limit is fine
    const ParseResult result =
        parse_all(parser, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n" +
                              std::string(1000, 'a') + "\r\n0\r\n\r\n");
    CHECK(result.state == ParseState::Complete);
    CHECK(parser.request().body.size() == 1000);
  }
  {
    RequestParser parser(limits);  // a huge chunk size (over 2^32) is 413 too, not a wrap-around
    const ParseResult result =
        parse_all(parser, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n100000000000\r\n");
    CHECK(result.state == ParseState::Error);
    CHECK(result.status == 413);
  }
}

TEST_CASE("an allocation failing inside a callback is a parse error, never an exception through llhttp") {
  RequestLimits limits;
  limits.max_body_bytes = 1 << 20;
  limits.max_header_bytes = 1 << 20;
  const std::string big_value(8192, 'v');
  const std::string cases[] = {
      // Content-Length: the body's reserve() fails in on_headers_complete.
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n",
      // A header value that outgrows the allocator, in on_header_value.
      "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + big_value + "\r\n\r\n",
      // A long target, in on_url.
      "GET /" + big_value + " HTTP/1.1\r\nHost: x\r\n\r\n",
      // A chunked body growing in on_body.
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2000\r\n" + big_value + "\r\n0\r\n\r\n",
  };
  for (const std::string& bytes : cases) {
    CAPTURE(bytes.substr(0, 40));
    RequestParser parser(limits);
    ParseResult result;
    {
      FailAllocations fail(4096);
      // In pieces too, so that strings grow across callbacks.
      size_t offset = 0;
      while (offset < bytes.size() && result.state == ParseState::NeedMore) {
        const size_t n = std::min<size_t>(1000, bytes.size() - offset);
        CHECK_NOTHROW(result = parser.feed(bytes.data() + offset, n));
        offset += n;
      }
    }
    CHECK(result.state == ParseState::Error);
    CHECK(result.status == 503);
    CHECK(result.reason == "out of memory while reading the request");
  }
  // With memory back, the same requests parse.
  for (const std::string& bytes : cases) {
    if (bytes.starts_with("POST / HTTP/1.1\r\nHost: x\r\nContent-Length")) continue;  // its body is not there
    RequestParser parser(limits);
    CHECK(parse_all(parser, bytes).state == ParseState::Complete);
  }
}

namespace {

// Feeds a request as ClientConnection's direct receive does: the head from an ordinary
// buffer, then each piece of the body written into the body's own spare room (where
// the kernel would put it) and parsed from there. `cut` is where the body bytes split
// into two receives. Returns the result of the last feed; `leftover` gets what the
// parser left unconsumed in the spare room (a pipelined request's bytes).
ParseResult feed_in_place(RequestParser& parser, std::string_view head, std::string_view rest, size_t cut,
                          std::string& leftover, const char** block) {
  ParseResult result = parser.feed(head.data(), head.size());
  REQUIRE(result.state == ParseState::NeedMore);
  REQUIRE(parser.head_complete());
  BodyBuffer& body = parser.request().body;
  if (body.spare_capacity() < rest.size()) body.reserve(body.size() + rest.size() + 64);  // chunked: room made up front
  *block = body.data();
  for (std::string_view piece : {rest.substr(0, cut), rest.substr(cut)}) {
    if (piece.empty()) continue;
    REQUIRE(body.spare_capacity() >= piece.size());
    char* at = body.spare();
    std::copy(piece.begin(), piece.end(), at);  // "received" straight into the body's room
    result = parser.feed(at, piece.size());
    if (result.state != ParseState::NeedMore) {
      leftover.assign(at + result.consumed, piece.size() - result.consumed);
      break;
    }
  }
  return result;
}

}  // namespace

TEST_CASE("body bytes received into the body's own room are taken in place, split at every boundary") {
  std::string payload;
  for (int i = 0; payload.size() < 300; ++i) payload += "{\"k\":" + std::to_string(i) + "},";
  const std::string cl_head =
      "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(payload.size()) + "\r\n\r\n";
  // Chunked: uneven chunks (framing between them is dropped in place), then a trailer.
  std::string chunked;
  for (size_t at = 0, n = 1; at < payload.size(); at += n, n = n * 3 % 97 + 1) {
    const std::string_view part = std::string_view(payload).substr(at, n);
    char size[16];
    std::snprintf(size, sizeof size, "%zx", part.size());
    chunked += std::string(size) + "\r\n" + std::string(part) + "\r\n";
  }
  chunked += "0\r\nX-Trailer: t\r\n\r\n";
  const std::string te_head = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string next = "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n";  // pipelined behind the body

  struct Case {
    const char* name;
    const std::string& head;
    std::string rest;
  };
  const Case cases[] = {{"content-length", cl_head, payload}, {"chunked", te_head, chunked},
                        {"chunked, then a pipelined request", te_head, chunked + next}};
  for (const Case& c : cases) {
    for (size_t cut = 0; cut <= c.rest.size(); ++cut) {
      CAPTURE(std::string(c.name));
      CAPTURE(cut);
      RequestParser parser;
      std::string leftover;
      const char* block = nullptr;
      const ParseResult result = feed_in_place(parser, c.head, c.rest, cut, leftover, &block);
      REQUIRE(result.state == ParseState::Complete);
      CHECK(parser.request().body == payload);
      CHECK(parser.request().body.data() == block);  // never regrown: every byte landed in place
      CHECK(parser.request().header("x-trailer").empty());
      // What followed the body in the receive that ended it is left where it landed,
      // for the caller to save (the rest of it comes in a later receive).
      const bool pipelined = c.rest.size() > chunked.size();
      const std::string expected = !pipelined ? "" : cut < chunked.size() ? next : next.substr(0, cut - chunked.size());
      CHECK(leftover == expected);
    }
  }
}

TEST_CASE("BodyBuffer: spare room, commit in place, growth keeps the bytes, release") {
  BodyBuffer body;
  CHECK(body.empty());
  CHECK(body.view().empty());
  body.append("abc");
  body.reserve(100);
  CHECK(body == "abc");
  CHECK(body.spare_capacity() >= 97);
  char* at = body.spare() + 5;  // framing at spare()[0..5), then data
  std::copy_n("xyz", 3, at);
  CHECK(body.in_spare(at, 3));
  CHECK_FALSE(body.in_spare(at, body.spare_capacity()));  // past the block
  body.commit(at, 3);
  CHECK(body == "abcxyz");
  body.append(body.view());  // its own bytes, through a regrowth
  CHECK(body == "abcxyzabcxyz");
  BodyBuffer moved = std::move(body);
  CHECK(moved == "abcxyzabcxyz");
  CHECK(body.capacity() == 0);
  moved.release();
  CHECK(moved.capacity() == 0);
  CHECK(moved.empty());
}

// Issue 53: obs-fold (a field line that begins with a space or a tab) is refused with 400
// wherever the request has fields: its head, its first field line, and the trailer section
// of a chunked body; at once and one byte a read.
TEST_CASE("a folded field line (obs-fold) is a 400 in the head and in chunked trailers") {
  const char* cases[] = {
      "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\tfolded\r\n\r\n",
      "GET / HTTP/1.1\r\n\tHost: x\r\n\r\n",  // the first field line
      "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n \r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n X-B: 1\r\n\r\n{}",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-T: 1\r\n folded\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n\tfolded\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n X-T: 1\r\n\r\n",
  };
  for (const char* text : cases) {
    const std::string bytes(text);
    CAPTURE(bytes);
    RequestParser whole;
    const ParseResult at_once = parse_all(whole, bytes);
    CHECK(at_once.state == ParseState::Error);
    CHECK(at_once.status == 400);
    RequestParser drip;
    ParseResult result;
    for (size_t i = 0; i < bytes.size() && result.state == ParseState::NeedMore; ++i)
      result = drip.feed(bytes.data() + i, 1);
    CHECK(result.state == ParseState::Error);
    CHECK(result.status == 400);
  }
  // Unfolded, a trailer is fine (and dropped).
  RequestParser parser;
  CHECK(
      parse_all(parser, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n\r\n").state ==
      ParseState::Complete);
}

// Issue 72: a field value excludes the optional whitespace (SP, HTAB) around it (RFC 9110
// §5.5), whatever the reads it arrives in; whitespace inside it is part of it.
TEST_CASE("header values lose their leading and trailing spaces and tabs, split anywhere") {
  const std::string bytes =
      "POST / HTTP/1.1\r\nHost: x \t\r\nX-Probe:  val \t\r\nX-Lead:\t\t lead\r\nX-Inner: \ta \t b \r\nX-Blank: \t \r\n"
      "X-None:\r\nTraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 \r\nX-Last: z\t\r\n"
      "Content-Length: 2\r\n\r\n{}";
  for (size_t cut = 1; cut < bytes.size(); ++cut) {
    CAPTURE(cut);
    RequestParser parser;
    ParseResult result = parser.feed(bytes.data(), cut);
    REQUIRE(result.state == ParseState::NeedMore);
    result = parser.feed(bytes.data() + cut, bytes.size() - cut);
    REQUIRE(result.state == ParseState::Complete);
    const Request& r = parser.request();
    CHECK(r.header("host") == "x");
    CHECK(r.header("x-probe") == "val");
    CHECK(r.header("x-lead") == "lead");
    CHECK(r.header("x-inner") == "a \t b");
    CHECK(r.header("x-blank").empty());
    CHECK(r.header("x-none").empty());
    CHECK(r.header("traceparent") == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    CHECK(r.header("x-last") == "z");
    REQUIRE(r.headers.size() == 9);  // every field its own, the empty ones too
    for (const Header& h : r.headers) {
      CAPTURE(h.name);
      CHECK((h.value.empty() ||
             (h.value.front() != ' ' && h.value.front() != '\t' && h.value.back() != ' ' && h.value.back() != '\t')));
    }
  }
}

// RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host, and to any
// request with more than one Host field line.
TEST_CASE("Host: exactly one on HTTP/1.1, at most one on HTTP/1.0") {
  const char* refused[] = {
      "GET / HTTP/1.1\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
      "GET / HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nHOST: b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost:\r\nHost: x\r\n\r\n",
      "GET / HTTP/1.0\r\nHost: x\r\nHost: y\r\n\r\n",
  };
  for (const char* bytes : refused) {
    check_refused_400(bytes);
    RequestParser parser;
    CHECK(std::string(parse_all(parser, bytes).reason).find("Host") != std::string::npos);
  }
  const char* served[] = {
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET / HTTP/1.1\r\nhost:\r\n\r\n",  // empty: a URI without authority (§3.2)
      "GET / HTTP/1.0\r\n\r\n",
      "GET / HTTP/1.0\r\nHost: x\r\n\r\n",
  };
  for (const char* bytes : served) {
    CAPTURE(bytes);
    RequestParser parser;
    CHECK(parse_all(parser, bytes).state == ParseState::Complete);
  }
  // A Host in the trailers is dropped, never a second one.
  RequestParser trailer;
  CHECK(parse_all(trailer, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nHost: y\r\n\r\n")
            .state == ParseState::Complete);
}

// RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing, whatever else
// it says: refused with 400 (the caller closes), never read as chunked, so no request that
// follows on the connection is read either.
TEST_CASE("HTTP/1.0 with Transfer-Encoding is a 400") {
  const char* cases[] = {
      "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
      "POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
      "POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n{}",
  };
  for (const char* bytes : cases) check_refused_400(bytes);
  RequestParser parser;
  CHECK(parse_all(parser, cases[1]).reason == "Transfer-Encoding in an HTTP/1.0 request");
  // HTTP/1.1 with the same framing is read as before.
  RequestParser http11;
  CHECK(
      parse_all(http11, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n").state ==
      ParseState::Complete);
}
