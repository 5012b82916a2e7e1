#include <doctest/doctest.h>

#include <string>

#include "ringgate/openai/event_stream_scanner.h"

using ringgate::openai::EventStreamScanner;

namespace {

// A vLLM completion stream of `tokens` token events; `continuous`: usage in every event
// (continuous_usage_stats), else one usage event of its own at the end (include_usage).
std::string vllm_stream(int tokens, bool continuous) {
  std::string s;
  auto usage = [](int prompt, int completion) {
    return "{\"prompt_tokens\":" + std::to_string(prompt) + ",\"total_tokens\":" + std::to_string(prompt + completion) +
           ",\"completion_tokens\":" + std::to_string(completion) + ",\"prompt_tokens_details\":{\"cached_tokens\":16}}";
  };
  for (int i = 1; i <= tokens; ++i) {
    s += "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\" usage\"}]";
    s += continuous ? ",\"usage\":" + usage(40, i) : std::string(",\"usage\":null");
    s += "}\n\n";
  }
  if (!continuous) s += "data: {\"id\":\"cmpl-1\",\"choices\":[],\"usage\":" + usage(40, tokens) + "}\n\n";
  s += "data: [DONE]\n\n";
  return s;
}

void feed_in_pieces(EventStreamScanner& s, std::string_view body, size_t piece) {
  for (size_t at = 0; at < body.size(); at += piece) s.feed(body.substr(at, piece));
}

}  // namespace

TEST_CASE("a stream's usage and events, whatever the reads") {
  for (bool continuous : {false, true}) {
    const std::string body = vllm_stream(50, continuous);
    const uint32_t events = continuous ? 51 : 52;
    for (size_t piece : {size_t(1), size_t(7), size_t(100), size_t(241), size_t(4096), body.size()}) {
      CAPTURE(continuous);
      CAPTURE(piece);
      EventStreamScanner s;
      feed_in_pieces(s, body, piece);
      CHECK(s.events() == events);
      CHECK(s.usage().prompt_tokens() == 40);
      CHECK(s.usage().completion_tokens() == 50);
      CHECK(s.usage().cached_tokens() == 16);
    }
    for (size_t split = 1; split < body.size(); ++split) {
      EventStreamScanner s;
      s.feed(std::string_view(body).substr(0, split));
      s.feed(std::string_view(body).substr(split));
      CHECK(s.events() == events);
      CHECK(s.usage().completion_tokens() == 50);
    }
  }
}

TEST_CASE("the usage event is found behind [DONE] and keep-alive comments in the same read") {
  EventStreamScanner s;
  s.feed(
      "data: {\"choices\":[{\"text\":\"a\"}]}\n\n"
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1}}\n\n"
      ": keep-alive\n\n"
      "data: [DONE]\n\n");
  CHECK(s.events() == 4);
  CHECK(s.usage().prompt_tokens() == 9);
  CHECK(s.usage().completion_tokens() == 1);
}

TEST_CASE("only a read's last data event is searched, not every byte") {
  // Usage in an event that a later data event of the same read follows is not read: the
  // later one would hold the stream's totals (vLLM never sends usage before its last event).
  EventStreamScanner s;
  s.feed(
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":5}}\n\n"
      "data: {\"choices\":[{\"text\":\"b\"}]}\n\n");
  CHECK(s.usage().prompt_tokens() == -1);
  // The same events in reads of their own are each the last of their read.
  EventStreamScanner apart;
  apart.feed("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":5}}\n\n");
  apart.feed("data: {\"choices\":[{\"text\":\"b\"}]}\n\n");
  CHECK(apart.usage().prompt_tokens() == 5);
}

TEST_CASE("an answer with no event end is searched whole (JSON where a stream was asked)") {
  const std::string body =
      R"({"id":"x","choices":[{"text":"usage"}],"usage":{"prompt_tokens":12,"completion_tokens":7}})";
  for (size_t piece : {size_t(1), size_t(10), body.size()}) {
    EventStreamScanner s;
    feed_in_pieces(s, body, piece);
    CHECK(s.events() == 0);
    CHECK(s.usage().prompt_tokens() == 12);
    CHECK(s.usage().completion_tokens() == 7);
  }
}

TEST_CASE("event ends: a pair of newlines, once; split across reads; CRLF is no end") {
  EventStreamScanner s;
  s.feed("data: a\n\n\ndata: b\n");
  CHECK(s.events() == 1);  // "\n\n\n": one end and a stray newline
  s.feed("\ndata: c\n\n");
  CHECK(s.events() == 3);  // the pair cut across the reads
  s.feed("\n");
  s.feed("\n");
  CHECK(s.events() == 4);
  EventStreamScanner crlf;
  crlf.feed("data: a\r\n\r\n");
  CHECK(crlf.events() == 0);
  // Ends past the vector steps (32 bytes) and at their edges are all found.
  std::string many;
  for (int i = 0; i < 100; ++i) many += std::string(size_t(i % 37), 'x') + "\n\n";
  EventStreamScanner m;
  m.feed(many);
  CHECK(m.events() == 100);
  // A pair (or a run of three) at every offset: inside a step, across two, in the tail.
  for (size_t at = 0; at + 3 <= 100; ++at) {
    for (std::string_view run : {"\n\n", "\n\n\n"}) {
      std::string bytes(100, 'x');
      bytes.replace(at, run.size(), run);
      EventStreamScanner one;
      one.feed(bytes);
      CAPTURE(at);
      CHECK(one.events() == 1);
    }
  }
}
