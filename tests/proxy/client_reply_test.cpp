// The client's byte stream of one reply, row by row: every framing (chunked, Content-Length,
// close-delimited), both relay paths (appended and decoded in place), and the three ways a
// reply ends (complete, an error, a cut), with what the connection does after.
#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "exchange_fakes.h"
#include "ringgate/http/error_response.h"
#include "ringgate/proxy/client_reply.h"
#include "ringgate/proxy/hedge_race.h"

using namespace ringgate;
using namespace ringgate::proxy;
using ringgate::proxy::testing::FakeClient;

namespace {

constexpr const char* kSse = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n";
constexpr const char* kSized = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 7\r\n\r\n";
constexpr const char* kSseHead =
    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
    "x-request-id: r1\r\n\r\n";
constexpr const char* kSizedHead =
    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 7\r\n"
    "x-request-id: r1\r\n\r\n";

struct Harness {
  FakeClient client;
  WorkerCounters counters;
  ClientReply reply{client, counters};
  std::vector<std::unique_ptr<http::ResponseParser>> heads;

  const http::ResponseParser& head(std::string_view text) {
    heads.push_back(std::make_unique<http::ResponseParser>());
    std::string body;
    heads.back()->feed(text.data(), text.size(), &body);
    REQUIRE(heads.back()->head_complete());
    return *heads.back();
  }
  void hold(std::string_view text, bool event_stream) { reply.hold_head(head(text), event_stream, {"r1", {}, {}, {}}); }
  // The in-place path: `decoded` lands after what was held; `kept` of it is relayed.
  void in_place(std::string_view held, std::string_view decoded, size_t kept) {
    std::string* out = reply.open_in_place(held);
    out->append(decoded);
    reply.close_in_place(kept);
    if (kept > 0) reply.end_in_place();
  }
};

struct Row {
  const char* name;
  bool http11;
  bool keep_alive;
  std::function<ReplyEnd(Harness&)> steps;
  std::string bytes;  // what the client is sent
  ReplyEnd end;
  bool keep_alive_after;
};

// One chunk of a chunked body, its size in plain hex (as append_chunk writes it).
std::string chunk(const std::string& data) {
  char size[16];
  snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

std::string error_json(int status, const char* code, const char* message) {
  return http::error_body(status, code, message);
}

}  // namespace

TEST_CASE("the client's bytes, row by row") {
  const std::string unavailable = error_json(503, "no_endpoint", "none");
  const std::string broken = error_json(502, "upstream_broken", "cut");
  const std::vector<Row> rows = {
      {"a stream, appended: head with the first bytes, one chunk each, the terminator", true, true,
       [](Harness& h) {
         h.hold(kSse, true);
         h.reply.append("data: 1\n\n");
         h.reply.append("data: 2\n\n");
         h.reply.end_body();
         return ReplyEnd::Complete;
       },
       std::string(kSseHead) + "9\r\ndata: 1\n\n\r\n9\r\ndata: 2\n\n\r\n0\r\n\r\n", ReplyEnd::Complete, true},
      {"a stream, in place: the size field fixed-width, a cut event's start held back", true, true,
       [](Harness& h) {
         h.hold(kSse, true);
         h.reply.append({});  // the commit alone (the head out with an empty first read)
         h.in_place("", "data: 1\n\nda", 9);
         h.in_place("da", "ta: 2\n\n", 9);
         h.reply.end_body();
         return ReplyEnd::Complete;
       },
       std::string(kSseHead) + "00000009\r\ndata: 1\n\n\r\n00000009\r\ndata: 2\n\n\r\n0\r\n\r\n", ReplyEnd::Complete,
       true},
      {"in place, nothing whole yet: no chunk at all", true, true,
       [](Harness& h) {
         h.hold(kSse, true);
         h.reply.append({});
         h.in_place("", "data: 1", 0);
         return ReplyEnd::Complete;
       },
       std::string(kSseHead), ReplyEnd::Complete, true},
      {"a sized body: bytes as they are, no terminator", true, true,
       [](Harness& h) {
         h.hold(kSized, false);
         h.reply.append("{\"a\":1}");
         h.reply.end_body();
         return ReplyEnd::Complete;
       },
       std::string(kSizedHead) + "{\"a\":1}", ReplyEnd::Complete, true},
      {"HTTP/1.0, no length: close-delimited, the connection closes after", false, true,
       [](Harness& h) {
         h.hold(kSse, true);
         h.reply.append("data: 1\n\n");
         h.reply.end_body();
         return ReplyEnd::Complete;
       },
       "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nx-request-id: r1\r\nconnection: close\r\n\r\n"
       "data: 1\n\n",
       ReplyEnd::Complete, false},
      {"HTTP/1.0 with a length and keep-alive: the head says keep-alive", false, true,
       [](Harness& h) {
         h.hold(kSized, false);
         h.reply.append("{\"a\":1}");
         return ReplyEnd::Complete;
       },
       "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 7\r\nx-request-id: r1\r\n"
       "connection: keep-alive\r\n\r\n{\"a\":1}",
       ReplyEnd::Complete, true},
      {"an error before any head: the JSON error", true, true,
       [](Harness& h) { return h.reply.fail(503, "no_endpoint", "none", "retry-after: 1\r\n"); },
       "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: " +
           std::to_string(unavailable.size()) + "\r\nretry-after: 1\r\n\r\n" + unavailable,
       ReplyEnd::Complete, true},
      {"an error after a held head that never went out: the head is dropped, the JSON error", true, false,
       [](Harness& h) {
         h.hold(kSse, true);
         return h.reply.fail(503, "no_endpoint", "none", {});
       },
       "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: " +
           std::to_string(unavailable.size()) + "\r\nconnection: close\r\n\r\n" + unavailable,
       ReplyEnd::Complete, false},
      {"a stream broken at an event boundary: an error event, the terminator", true, true,
       [](Harness& h) {
         h.hold(kSse, true);
         h.reply.append("data: 1\n\n");
         return h.reply.fail(502, "upstream_broken", "cut", {});
       },
       std::string(kSseHead) + "9\r\ndata: 1\n\n\r\n" + chunk("data: " + broken + "\n\n") + "0\r\n\r\n",
       ReplyEnd::Complete, true},
      {"a stream broken mid-event (in place): a blank line first, so the error is an event of its own", true, true,
       [](Harness& h) {
         h.hold(kSse, true);
         h.reply.append({});
         h.in_place("", "data: 1\n\ndata: 2", 9 + 7);  // relayed as far as it went (a continuation's tail)
         return h.reply.fail(502, "upstream_broken", "cut", {});
       },
       std::string(kSseHead) + "00000010\r\ndata: 1\n\ndata: 2\r\n" + chunk("\n\ndata: " + broken + "\n\n") +
           "0\r\n\r\n",
       ReplyEnd::Complete, true},
      {"a sized body broken: cut (short of its length, no more bytes)", true, true,
       [](Harness& h) {
         h.hold(kSized, false);
         h.reply.append("{\"a\"");
         return h.reply.fail(502, "upstream_broken", "cut", {});
       },
       std::string(kSizedHead) + "{\"a\"", ReplyEnd::Cut, true},
      {"a dropped head, then another server's answer: only the second head goes out", true, true,
       [](Harness& h) {
         h.hold(kSized, false);
         h.reply.drop_head();
         h.hold(kSse, true);
         h.reply.append("data: 1\n\n");
         h.reply.end_body();
         return ReplyEnd::Complete;
       },
       std::string(kSseHead) + "9\r\ndata: 1\n\n\r\n0\r\n\r\n", ReplyEnd::Complete, true},
      {"a race: a side's head parked, the winner's resumed", true, true,
       [](Harness& h) {
         RaceSide a, b;
         h.hold(kSized, false);
         h.reply.park(a);
         h.hold(kSse, true);
         h.reply.park(b);
         h.reply.resume(b);
         h.reply.append("data: 1\n\n");
         h.reply.end_body();
         return ReplyEnd::Complete;
       },
       std::string(kSseHead) + "9\r\ndata: 1\n\n\r\n0\r\n\r\n", ReplyEnd::Complete, true},
  };
  for (const Row& row : rows) {
    const std::string name = row.name;
    CAPTURE(name);
    Harness h;
    h.reply.begin(row.http11, row.keep_alive);
    const ReplyEnd end = row.steps(h);
    CHECK(h.client.out == row.bytes);
    CHECK(end == row.end);
    CHECK(h.reply.keep_alive() == row.keep_alive_after);
    h.reply.finished(end);
    CHECK(h.client.aborted == (end == ReplyEnd::Cut));
    CHECK(h.client.finished == (end == ReplyEnd::Complete ? 1 : 0));
  }
}

TEST_CASE("what the counters see: a relayed status once, a gateway error, a broken stream") {
  Harness h;
  h.reply.begin(true, true);
  h.hold(kSse, true);
  h.reply.append("data: 1\n\n");
  h.reply.append("data: 2\n\n");
  CHECK(h.counters.responses_by_class[2].get() == 1);
  CHECK(h.reply.state().from_model_server);
  (void)h.reply.fail(502, "upstream_broken", "cut", {});
  CHECK(h.counters.streams_broken.get() == 1);
  CHECK(h.counters.gateway_errors.get() == 0);  // the client has a 200: the break is not a gateway answer

  Harness e;
  e.reply.begin(true, true);
  (void)e.reply.fail(504, "request_timeout", "late", {});
  CHECK(e.counters.gateway_errors.get() == 1);
  CHECK(e.counters.responses_by_class[5].get() == 1);
  CHECK(e.reply.state().status == 504);
  CHECK_FALSE(e.reply.state().from_model_server);
}
