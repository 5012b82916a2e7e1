// Reading and rewriting the events of a vLLM completion / chat stream (the shapes
// ringgate-sim and vLLM v0.12 write), for continuing a stream on another server.
#include <doctest/doctest.h>

#include <string>

#include "ringgate/openai/stream_event.h"

using namespace ringgate::openai;

namespace {

constexpr std::string_view kCompletionEvent =
    R"({"id":"cmpl-abc","object":"text_completion","created":1700000000,"model":"facebook/opt-125m",)"
    R"("choices":[{"index":0,"text":" the","logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null})";
constexpr std::string_view kChatRole =
    R"({"id":"chatcmpl-x","object":"chat.completion.chunk","created":1700000001,"model":"m",)"
    R"("choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]})";
constexpr std::string_view kChatToken =
    R"({"id":"chatcmpl-x","object":"chat.completion.chunk","created":1700000001,"model":"m",)"
    R"("choices":[{"index":0,"delta":{"content":" kv \"q\""},"logprobs":null,"finish_reason":"length","stop_reason":null}]})";
constexpr std::string_view kUsage =
    R"({"id":"chatcmpl-x","object":"chat.completion.chunk","created":1700000001,"model":"m","choices":[],)"
    R"("usage":{"prompt_tokens":12,"total_tokens":20,"completion_tokens":8}})";

}  // namespace

TEST_CASE("complete_events_end: whole events only, either line end") {
  CHECK(complete_events_end("") == 0);
  CHECK(complete_events_end("data: {}\n\n") == 10);
  CHECK(complete_events_end("data: {}\n\ndata: {\"a") == 10);
  CHECK(complete_events_end("data: {}\r\n\r\ndata: x") == 12);
  CHECK(complete_events_end("data: {}\n") == 0);
  CHECK(complete_events_end("\n\n") == 2);
}

TEST_CASE("next_event and event_payload split a run of events") {
  std::string_view rest = "data: {\"a\":1}\n\n: keep-alive\n\ndata: [DONE]\n\ndata: cut";
  std::string_view event;
  REQUIRE(next_event(rest, event));
  CHECK(event_payload(event) == "{\"a\":1}");
  REQUIRE(next_event(rest, event));
  CHECK(event_payload(event).empty());  // a comment only
  REQUIRE(next_event(rest, event));
  CHECK(event_payload(event) == "[DONE]");
  CHECK_FALSE(next_event(rest, event));
  CHECK(rest == "data: cut");
  CHECK(event_payload("data:{\"b\":2}\r\n\r\n") == "{\"b\":2}");
  CHECK(event_payload("event: x\ndata: {}\n\n").empty());  // not a shape this reader continues
  CHECK(event_payload("data: {}\ndata: {}\n\n").empty());
}

TEST_CASE("a completion token event: identity, text, no finish") {
  StreamEventReader reader;
  StreamEvent e;
  std::string text = "so far:";
  reader.read(kCompletionEvent, e, &text);
  CHECK(e.kind == StreamEventKind::Choice);
  CHECK(text == "so far: the");
  CHECK(e.id.in(kCompletionEvent) == "\"cmpl-abc\"");
  CHECK(e.created.in(kCompletionEvent) == "1700000000");
  CHECK(e.model.in(kCompletionEvent) == "\"facebook/opt-125m\"");
  CHECK_FALSE(e.system_fingerprint.present());
  CHECK(e.usage.in(kCompletionEvent) == "null");
  CHECK(e.prompt_tokens == -1);
  CHECK_FALSE(e.finished);
  CHECK_FALSE(e.logprobs);
  CHECK(e.choices == 1);
}

TEST_CASE("chat events: the role chunk, an escaped token with a finish, the usage chunk") {
  StreamEventReader reader;
  StreamEvent e;
  std::string text;
  reader.read(kChatRole, e, &text);
  CHECK(e.kind == StreamEventKind::Choice);
  CHECK(e.role_only);
  CHECK(text.empty());
  reader.read(kChatToken, e, &text);
  CHECK_FALSE(e.role_only);
  CHECK(e.finished);
  CHECK(text == " kv \"q\"");
  reader.read(kUsage, e, &text);
  CHECK(e.kind == StreamEventKind::Usage);
  CHECK(e.prompt_tokens == 12);
  CHECK(e.completion_tokens == 8);
  reader.read("[DONE]", e, &text);
  CHECK(e.kind == StreamEventKind::Done);
}

TEST_CASE("what a continuation cannot carry is flagged") {
  StreamEventReader reader;
  StreamEvent e;
  reader.read(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"f"}}]}}]})", e, nullptr);
  CHECK(e.tool_calls);
  reader.read(R"({"choices":[{"index":0,"delta":{"reasoning_content":"hm"}}]})", e, nullptr);
  CHECK(e.reasoning);
  reader.read(R"({"choices":[{"index":0,"text":"a","logprobs":{"tokens":["a"]}}]})", e, nullptr);
  CHECK(e.logprobs);
  reader.read(R"({"choices":[{"index":1,"text":"a"}]})", e, nullptr);
  CHECK(e.other_index);
}

TEST_CASE("broken or hostile events are Invalid and add no text") {
  StreamEventReader reader;
  StreamEvent e;
  std::string text = "kept";
  for (std::string_view bad : {std::string_view("{\"choices\":[{\"text\":\"a\"}"), std::string_view("not json"),
                               std::string_view("{\"choices\":[{\"text\":\"a\"}]} trailing"),
                               std::string_view("{\"choices\":[{\"text\":\"a\"},{\"text\":7}]}"),
                               std::string_view("{\"id\":{\"nested\":1}}"),
                               std::string_view("{\"usage\":{\"prompt_tokens\":\"x\"}}"), std::string_view("")}) {
    reader.read(bad, e, &text);
    CHECK_MESSAGE(e.kind == StreamEventKind::Invalid, bad);
    CHECK(text == "kept");
  }
  const std::string huge = "{\"choices\":[{\"text\":\"" + std::string(kMaxStreamEventBytes, 'a') + "\"}]}";
  reader.read(huge, e, &text);
  CHECK(e.kind == StreamEventKind::Invalid);
  reader.read(R"({"object":"error","message":"boom"})", e, &text);
  CHECK(e.kind == StreamEventKind::Other);
}

TEST_CASE("rewrite_event splices identity and usage, and nothing else") {
  StreamEventReader reader;
  StreamEvent e;
  reader.read(kCompletionEvent, e, nullptr);
  std::string out;
  EventRewrite with;
  with.id = "\"cmpl-first\"";
  with.created = "1699999999";
  with.model = "\"facebook/opt-125m\"";  // the same: untouched
  rewrite_event(out, kCompletionEvent, e, with);
  std::string expected(kCompletionEvent);
  expected.replace(expected.find("\"cmpl-abc\""), 10, "\"cmpl-first\"");
  expected.replace(expected.find("1700000000"), 10, "1699999999");
  CHECK(out == "data: " + expected + "\n\n");

  reader.read(kUsage, e, nullptr);
  out.clear();
  std::string usage;
  append_usage_object(usage, 5, 15);
  CHECK(usage == R"({"prompt_tokens":5,"total_tokens":20,"completion_tokens":15})");
  with = {};
  with.usage = usage;
  rewrite_event(out, kUsage, e, with);
  CHECK(out.find(R"("usage":{"prompt_tokens":5,"total_tokens":20,"completion_tokens":15}})") != std::string::npos);
  CHECK(out.starts_with("data: {\"id\":\"chatcmpl-x\""));
}
