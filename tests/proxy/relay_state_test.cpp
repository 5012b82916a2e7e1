// RelayState, table-driven: what a broken first leg leaves for a continuation (the text,
// the tokens, or why it cannot go on), and how a continuation leg is stitched onto what
// the client saw (the first leg's identity, no second role chunk, usage counted whole).
#include <doctest/doctest.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/proxy/relay_state.h"

using namespace ringgate;
using namespace ringgate::proxy;

namespace {

// A reason's metric label ("" for none).
std::string_view label(std::optional<metrics::MigrationReason> reason) {
  return reason ? metrics::name(*reason) : std::string_view();
}

std::string completion(std::string_view text, std::string_view extra = {}) {
  std::string e = R"(data: {"id":"cmpl-1","object":"text_completion","created":7,"model":"m","choices":[{"index":0,"text":")";
  e += text;
  e += R"(","logprobs":null,"finish_reason":null)";
  e += extra;
  e += "}]}\n\n";
  return e;
}

// Where the last event of stream[0, n) ends (after its "\n\n" or "\r\n\r\n"); 0: none.
// Written apart from openai::complete_events_end, which the relay uses.
size_t whole_events_end(std::string_view stream, size_t n) {
  size_t end = 0;
  for (size_t i = 0; i + 2 <= n; ++i) {
    if (stream.substr(i, 2) == "\n\n")
      end = i + 2;
    else if (i + 4 <= n && stream.substr(i, 4) == "\r\n\r\n")
      end = i + 4;
  }
  return end;
}

// Relays `stream` cut at `cuts` (ascending, from 0 to its size) through take(), or
// through take_joined() with the held start put in front of each piece; checks that only
// whole events went out, each as soon as its end arrived, and every byte once, and
// returns the text kept.
std::string relay_in_pieces(std::string_view stream, std::span<const size_t> cuts, bool joined) {
  openai::StreamEventReader reader;
  RelayState relay;
  relay.begin(true, 100);
  std::string relayed, in_front;
  for (size_t piece = 0; piece + 1 < cuts.size(); ++piece) {
    const std::string_view read = stream.substr(cuts[piece], cuts[piece + 1] - cuts[piece]);
    std::string_view out;
    if (joined) {
      in_front.assign(relay.held()).append(read);
      out = relay.take_joined(in_front, reader);
      CHECK(out.data() == in_front.data());  // where it lies: a prefix
    } else {
      out = relay.take(read, reader);
    }
    if (!out.empty()) CHECK((out.ends_with("\n\n") || out.ends_with("\r\n\r\n")));  // whole events only
    relayed += out;
    CHECK(relayed.size() == whole_events_end(stream, cuts[piece + 1]));  // none held past its end
  }
  relayed += relay.finish();
  CHECK(relayed == stream);
  CHECK(!relay.prepare_continuation(reader));
  return relay.text();
}

}  // namespace

TEST_CASE("a broken first leg: what a continuation carries, or why it cannot go on") {
  struct Row {
    const char* name;
    std::string stream;  // what the first leg relayed before it broke
    bool keep;
    uint32_t max_tokens;
    std::string_view blocker;  // prepare_continuation's answer ("" = it can go on)
    std::string_view text;
    uint64_t tokens;
    bool done;
  };
  const Row rows[] = {
      {"two tokens", completion("Hel") + completion("lo"), true, 100, "", "Hello", 2, false},
      {"nothing yet", "", true, 100, "", "", 0, false},
      {"not kept", completion("a"), false, 100, "unsupported", "", 0, false},
      {"logprobs", completion("a", R"(,"x":1)") + R"(data: {"id":"cmpl-1","object":"text_completion","created":7,"model":"m","choices":[{"index":0,"text":"b","logprobs":{"tokens":["b"]},"finish_reason":null}]})" "\n\n",
       true, 100, "logprobs", "", 0, false},
      {"at max_tokens", completion("a") + completion("b"), true, 2, "", "ab", 2, false},
      {"past max_tokens", completion("a") + completion("b") + completion("c"), true, 2, "too_long", "", 0, false},
      {"whole stream seen", completion("a") + "data: [DONE]\n\n", true, 100, "", "a", 1, true},
  };
  for (const Row& r : rows) {
    CAPTURE(r.name);
    openai::StreamEventReader reader;
    RelayState relay;
    relay.begin(r.keep, r.max_tokens);
    std::string relayed(relay.take(r.stream, reader));
    CHECK(relayed == r.stream);  // whole events pass through unchanged
    const std::optional<metrics::MigrationReason> blocker = relay.prepare_continuation(reader);
    CHECK(label(blocker) == r.blocker);
    CHECK(relay.done() == r.done);
    if (r.blocker.empty() && !r.done) {
      CHECK(relay.text() == r.text);
      CHECK(relay.tokens() == r.tokens);
    }
  }
}

TEST_CASE("an event cut by a read waits for its end; the stream ended cleanly gives it as it is") {
  openai::StreamEventReader reader;
  RelayState relay;
  relay.begin(true, 100);
  const std::string event = completion("x");
  CHECK(relay.take(std::string_view(event).substr(0, 10), reader).empty());
  CHECK(relay.take(std::string_view(event).substr(10), reader) == event);
  CHECK(relay.take("data: {\"cut", reader).empty());
  CHECK(relay.finish() == "data: {\"cut");
}

TEST_CASE("a stream read in two pieces cut at any byte is relayed whole events at a time, each byte once") {
  // Three events, the second ended by CRLF blank lines: every cut, including those inside
  // a blank line, must relay exactly the events whole so far and keep their text.
  std::string with_crlf = completion("b");
  with_crlf.replace(with_crlf.size() - 2, 2, "\r\n\r\n");
  const std::string stream = completion("a") + with_crlf + completion("c");
  // joined: as a read decoded in place, the held start put in front of each piece.
  for (const bool joined : {false, true}) {
    CAPTURE(joined);
    for (size_t first = 0; first <= stream.size(); ++first) {
      for (size_t second = first; second <= stream.size(); second += 7) {
        CAPTURE(first);
        CAPTURE(second);
        const size_t cuts[] = {0, first, second, stream.size()};
        CHECK(relay_in_pieces(stream, cuts, joined) == "abc");
      }
    }
  }
}

TEST_CASE("a stream a byte at a time, each read relayed where it lies or put together") {
  std::string with_crlf = completion("b");
  with_crlf.replace(with_crlf.size() - 2, 2, "\r\n\r\n");
  const std::string stream = completion("a") + with_crlf + completion("c") + "data: [DONE]\r\n\r\n";
  std::vector<size_t> cuts;
  for (size_t at = 0; at <= stream.size(); ++at) cuts.push_back(at);
  for (const bool joined : {false, true}) {
    CAPTURE(joined);
    CHECK(relay_in_pieces(stream, cuts, joined) == "abc");
  }
}

TEST_CASE("a continuation leg: the first leg's identity, its own events rewritten") {
  openai::StreamEventReader reader;
  RelayState relay;
  relay.begin(true, 100);
  const std::string first = completion("Hel");
  REQUIRE(relay.take(first, reader) == first);
  REQUIRE_FALSE(relay.prepare_continuation(reader).has_value());
  relay.start_leg();
  CHECK(relay.leg() == 1);
  const std::string second =
      R"(data: {"id":"cmpl-2","object":"text_completion","created":9,"model":"m","choices":[{"index":0,"text":"lo","logprobs":null,"finish_reason":null}]})"
      "\n\n";
  const std::string out(relay.take(second, reader));
  CHECK(out.find("cmpl-1") != std::string::npos);
  CHECK(out.find("cmpl-2") == std::string::npos);
  CHECK(out.find("\"created\":7") != std::string::npos);
  CHECK(out.find("\"text\":\"lo\"") != std::string::npos);
}
