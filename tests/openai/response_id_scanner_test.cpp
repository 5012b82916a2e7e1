// The response id a Responses API answer names: a JSON body's root "id", a stream's
// first event's response.id; nothing past that event, nothing past the byte bound.
#include "ringgate/openai/response_id_scanner.h"

#include <doctest/doctest.h>

#include <string>

using namespace ringgate::openai;

namespace {

// Fed whole, then split at every byte: the same answer.
std::string scan(std::string_view bytes, bool stream, bool responses_stream = true) {
  ResponseIdScanner whole;
  whole.reset(stream, responses_stream);
  whole.feed(bytes);
  const std::string id(whole.id());
  for (size_t cut = 1; cut < bytes.size(); ++cut) {
    ResponseIdScanner split;
    split.reset(stream, responses_stream);
    split.feed(bytes.substr(0, cut));
    split.feed(bytes.substr(cut));
    CHECK_MESSAGE(split.id() == id, "split at ", cut);
  }
  return id;
}

constexpr std::string_view kCreated =
    "event: response.created\n"
    "data: {\"response\":{\"id\":\"resp_abc\",\"created_at\":1,\"output\":[],\"status\":\"in_progress\"},"
    "\"sequence_number\":0,\"type\":\"response.created\"}\n\n";

}  // namespace

TEST_CASE("a JSON answer's root id, wherever the key is") {
  CHECK(scan(R"({"id":"resp_1","object":"response"})", false) == "resp_1");
  CHECK(scan(R"({ "object" : "response", "output":[{"id":"msg_x","content":[]}], "id" : "resp_2" })", false) ==
        "resp_2");
  // Nested ids are not the response's; an error answer has none.
  CHECK(scan(R"({"output":[{"id":"msg_x"}],"usage":{"id":"u"}})", false).empty());
  CHECK(scan(R"({"error":{"message":"x","code":404}})", false).empty());
  CHECK(scan(R"({"id":7})", false).empty());
  CHECK(scan(R"(["id","resp_3"])", false).empty());
}

TEST_CASE("a stream's response.created event names it; nothing after that event is read") {
  CHECK(scan(kCreated, true) == "resp_abc");
  CHECK(scan("event: response.created\r\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_x\"}}\r\n\r\n",
             true) == "resp_x");
  // A first event of another type is not read on.
  ResponseIdScanner other;
  other.reset(true);
  other.feed("event: response.in_progress\ndata: {\"response\":{\"id\":\"resp_no\"}}\n\n");
  CHECK(other.done());
  CHECK(other.id().empty());
  // The first event ends without the id: the second is never read.
  ResponseIdScanner first_only;
  first_only.reset(true);
  first_only.feed("event: response.created\ndata: {\"response\":{\"status\":\"x\"}}\n\n");
  CHECK(first_only.done());
  first_only.feed(kCreated);
  CHECK(first_only.id().empty());
}

TEST_CASE("a chat or text completion stream: its first chunk's root id") {
  constexpr std::string_view kChunks =
      "data: {\"id\":\"chatcmpl-7\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"delta\":{\"id\":\"x\"}}]}\n\n"
      "data: {\"id\":\"chatcmpl-8\"}\n\n"
      "data: [DONE]\n\n";
  CHECK(scan(kChunks, true, false) == "chatcmpl-7");
  CHECK(scan(kChunks, true, true).empty());  // read as a Responses stream: no response.id
  // A Responses stream read as a completion stream: its root has no id.
  CHECK(scan(kCreated, true, false).empty());
  // The id after other keys, on a second data line of the first event.
  CHECK(scan("data: {\"object\":\"text_completion\",\ndata: \"id\":\"cmpl-2\"}\n\n", true, false) == "cmpl-2");
  // Not in the first event: not read.
  CHECK(scan("data: {\"object\":\"x\"}\n\ndata: {\"id\":\"cmpl-3\"}\n\n", true, false).empty());
}

TEST_CASE("bounds: the id's length, escapes, the bytes scanned") {
  const std::string longest(kMaxResponseIdBytes, 'a');
  CHECK(scan("{\"id\":\"" + longest + "\"}", false) == longest);
  CHECK(scan("{\"id\":\"" + longest + "b\"}", false).empty());
  CHECK(scan(R"({"id":"resp_\"q"})", false).empty());
  CHECK(scan(std::string("{\"id\":\"a\x01b\"}"), false).empty());  // a control byte ends it unkept
  CHECK(scan(R"({"id":"","object":"response"})", false).empty());
  // Past kMaxScannedBytes the scanner stops, found or not.
  std::string big = "{\"pad\":\"" + std::string(ResponseIdScanner::kMaxScannedBytes, 'x') + "\",\"id\":\"resp_late\"}";
  ResponseIdScanner scanner;
  scanner.reset(false);
  scanner.feed(big);
  CHECK(scanner.done());
  CHECK(scanner.id().empty());
}
