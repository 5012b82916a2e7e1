#include <doctest/doctest.h>

#include <string>

#include "ringgate/http/error_response.h"
#include "ringgate/http/response_parser.h"

using namespace ringgate::http;

TEST_CASE("Content-Length response") {
  ResponseParser parser;
  std::string body;
  const std::string bytes = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
  const ResponseFeed feed = parser.feed(bytes.data(), bytes.size(), &body);
  CHECK(feed.state == ResponseState::Complete);
  CHECK(feed.consumed == bytes.size());
  CHECK(parser.status() == 200);
  CHECK(parser.reason() == "OK");
  CHECK(parser.content_length() == 2);
  CHECK(parser.keep_alive());
  CHECK(body == "{}");
  CHECK(find_header(parser.headers(), "content-type") == "application/json");
}

TEST_CASE("a status below 100 is a malformed response, never relayed (fuzz_response found 000)") {
  for (std::string line : {"HTTP/1.1 000 X\r\n", "HTTP/1.1 099 X\r\n"}) {
    ResponseParser parser;
    std::string body;
    const std::string bytes = line + "content-length: 0\r\n\r\n";
    CHECK(parser.feed(bytes.data(), bytes.size(), &body).state == ResponseState::Error);
  }
}

TEST_CASE("204 and 304 end at the blank line whatever Content-Length says (fuzz_response)") {
  for (std::string status : {"204 No Content", "304 Not Modified"}) {
    ResponseParser parser;
    std::string body;
    const std::string head = "HTTP/1.1 " + status + "\r\ncontent-length: 2\r\n\r\n";
    const std::string bytes = head + "XY";
    const ResponseFeed feed = parser.feed(bytes.data(), bytes.size(), &body);
    CHECK(feed.state == ResponseState::Complete);
    CHECK(feed.consumed == head.size());  // "XY" is not this response's body
    CHECK(body.empty());
  }
}

TEST_CASE("an interim 1xx with a Content-Length has no body either: the final response follows (fuzz_response)") {
  ResponseParser parser;
  std::string body;
  const std::string bytes = "HTTP/1.1 100 Continue\r\ncontent-length: 3\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
  const ResponseFeed feed = parser.feed(bytes.data(), bytes.size(), &body);
  CHECK(feed.state == ResponseState::Complete);
  CHECK(parser.status() == 200);
  CHECK(body == "{}");
}

TEST_CASE("chunked SSE response decoded piece by piece") {
  ResponseParser parser;
  std::string body;
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  CHECK(parser.feed(head.data(), head.size(), &body).state == ResponseState::NeedMore);
  CHECK(parser.head_complete());
  CHECK(parser.chunked());
  const std::string one = "a\r\ndata: {}\n\n\r\n";
  CHECK(parser.feed(one.data(), one.size(), &body).state == ResponseState::NeedMore);
  CHECK(body == "data: {}\n\n");
  const std::string end = "0\r\n\r\n";
  CHECK(parser.feed(end.data(), end.size(), &body).state == ResponseState::Complete);
}

TEST_CASE("close-delimited body completes at EOF; truncated ones do not") {
  ResponseParser parser;
  std::string body;
  const std::string bytes = "HTTP/1.1 200 OK\r\n\r\nabc";
  CHECK(parser.feed(bytes.data(), bytes.size(), &body).state == ResponseState::NeedMore);
  CHECK(parser.finish() == ResponseState::Complete);
  CHECK(body == "abc");
  CHECK_FALSE(parser.keep_alive());

  ResponseParser cut;
  const std::string partial = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  cut.feed(partial.data(), partial.size(), &body);
  CHECK(cut.finish() == ResponseState::Error);
}

TEST_CASE("garbage from upstream is an error; reset() starts over") {
  ResponseParser parser;
  std::string body;
  const std::string bad = "NOT HTTP\r\n\r\n";
  CHECK(parser.feed(bad.data(), bad.size(), &body).state == ResponseState::Error);
  parser.reset();
  const std::string good = "HTTP/1.1 204 No Content\r\n\r\n";
  CHECK(parser.feed(good.data(), good.size(), &body).state == ResponseState::Complete);
  CHECK(parser.status() == 204);
}

TEST_CASE("error bodies are OpenAI-shaped and escaped") {
  CHECK(error_body(400, "invalid_json", "bad \"x\"\n") ==
        R"({"error":{"message":"bad \"x\"\n","type":"invalid_request_error","code":"invalid_json"}})");
  CHECK(error_type(504) == "timeout_error");
  CHECK(error_type(503) == "server_error");
  CHECK(error_type(429) == "rate_limit_error");
  std::string out;
  append_error(out, 404, "not_found", "nope", true);
  CHECK(out.starts_with("HTTP/1.1 404 Not Found\r\n"));
  CHECK(out.find("connection: close\r\n") != std::string::npos);
  const std::string body = error_body(404, "not_found", "nope");
  CHECK(out.find("content-length: " + std::to_string(body.size()) + "\r\n") != std::string::npos);
  CHECK(out.ends_with(R"({"error":{"message":"nope","type":"invalid_request_error","code":"not_found"}})"));
}

TEST_CASE("hop-by-hop headers") {
  CHECK(is_hop_by_hop("connection", ""));
  CHECK(is_hop_by_hop("transfer-encoding", ""));
  CHECK(is_hop_by_hop("x-private", "keep-alive, X-Private"));
  CHECK_FALSE(is_hop_by_hop("content-type", "keep-alive"));
}

// Issue 53: obs-fold (RFC 9112 §5.2, a line that starts with a space or a tab continues the
// previous field) is refused in an upstream response, as in a client's request: a proxy
// must either refuse it (502) or unfold it, and llhttp would hand the value over with the
// CRLF inside, to be relayed to the client as a header of its own. The kube watch client,
// the metrics scraper and the OTLP exporter read their answers through this parser too.
TEST_CASE("a folded header line (obs-fold) in a response or its trailers is an error, whatever the framing") {
  const char* cases[] = {
      "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-A: 1\r\n\tfolded\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n x\r\n\r\n{}",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\tX-Injected: 1\r\n\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-A: 1\r\n \r\n\r\n",  // a fold of whitespace alone
      // the trailer section of a chunked body: the same field syntax
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-T: 1\r\n folded\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n\tfolded\r\n\r\n",
  };
  for (const char* bytes : cases) {
    const std::string all(bytes);
    CAPTURE(all);
    // At once, and one byte a read (the fold may begin a read of its own).
    for (const bool bytewise : {false, true}) {
      CAPTURE(bytewise);
      ResponseParser parser;
      std::string body;
      ResponseState state = ResponseState::NeedMore;
      if (!bytewise) {
        state = parser.feed(all.data(), all.size(), &body).state;
      } else {
        for (size_t i = 0; i < all.size() && state == ResponseState::NeedMore; ++i)
          state = parser.feed(all.data() + i, 1, &body).state;
      }
      CHECK(state == ResponseState::Error);
    }
  }
  // The same responses unfolded are fine (the test is of the fold, not of the rest).
  ResponseParser parser;
  std::string body;
  const std::string plain = "HTTP/1.1 200 OK\r\nX-A: 1 folded\r\nContent-Length: 0\r\n\r\n";
  CHECK(parser.feed(plain.data(), plain.size(), &body).state == ResponseState::Complete);
  parser.reset();
  const std::string trailer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n\r\n";
  CHECK(parser.feed(trailer.data(), trailer.size(), &body).state == ResponseState::Complete);
}

// Issue 72: a model server's field values are read (and relayed) without the whitespace
// around them (RFC 9110 §5.5), however the head is split across reads.
TEST_CASE("response header values lose their leading and trailing spaces and tabs") {
  const std::string bytes =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json \t\r\nX-Request-Id:\t rid \r\nX-Inner: a \t b\t\r\n"
      "X-Blank: \t \r\nContent-Length: 2\r\n\r\n{}";
  for (size_t cut = 1; cut < bytes.size(); ++cut) {
    CAPTURE(cut);
    ResponseParser parser;
    std::string body;
    REQUIRE(parser.feed(bytes.data(), cut, &body).state == ResponseState::NeedMore);
    REQUIRE(parser.feed(bytes.data() + cut, bytes.size() - cut, &body).state == ResponseState::Complete);
    CHECK(find_header(parser.headers(), "content-type") == "application/json");
    CHECK(find_header(parser.headers(), "x-request-id") == "rid");
    CHECK(find_header(parser.headers(), "x-inner") == "a \t b");
    CHECK(find_header(parser.headers(), "x-blank").empty());
    CHECK(parser.headers().size() == 5);
  }
}
