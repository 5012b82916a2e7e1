// The finish reasons of an answer, read from its tail once it has ended: vLLM's JSON and
// streamed answers (with and without a usage event), any split of the bytes, n > 1, and
// what is not a reason (null, escapes, too long, beyond the tail).
#include "ringgate/openai/finish_reason_tail.h"

#include <doctest/doctest.h>

#include <string>

using namespace ringgate::openai;

namespace {

std::string reasons_of(const FinishReasonTail& tail) {
  char out[FinishReasonTail::kReasonsBytes];
  return std::string(out, tail.reasons(out));
}

// Fed whole, then in pieces of every size up to 40 bytes: the same reasons.
std::string read(std::string_view answer) {
  FinishReasonTail whole;
  whole.reset();
  whole.feed(answer);
  const std::string found = reasons_of(whole);
  for (size_t piece = 1; piece <= 40; ++piece) {
    FinishReasonTail split;
    split.reset();
    for (size_t at = 0; at < answer.size(); at += piece) split.feed(answer.substr(at, piece));
    CHECK_MESSAGE(reasons_of(split) == found, "pieces of ", piece);
  }
  return found;
}

const std::string kModel = "facebook/opt-125m";

std::string chunk(const std::string& content, const std::string& finish) {
  return "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"" + kModel +
         "\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content +
         "\"},\"logprobs\":null,\"finish_reason\":" + finish + ",\"stop_reason\":null}]}\n\n";
}

}  // namespace

TEST_CASE("vLLM's answers: JSON, a stream, a stream with its usage event") {
  CHECK(read(R"({"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":" hi",)"
             R"("logprobs":null,"finish_reason":"length","stop_reason":null,"prompt_logprobs":null}],"service_tier":null,)"
             R"("system_fingerprint":null,"usage":{"prompt_tokens":2,"total_tokens":3,"completion_tokens":1,)"
             R"("prompt_tokens_details":null},"kv_transfer_params":null})") == "length");

  std::string stream;
  for (int i = 0; i < 200; ++i) stream += chunk("tok", "null");  // null is no reason
  stream += chunk("", "\"stop\"");
  CHECK(read(stream + "data: [DONE]\n\n") == "stop");
  const std::string usage = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"" +
                            kModel + "\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"total_tokens\":212,"
                            "\"completion_tokens\":200}}\n\n";
  CHECK(read(stream + usage + "data: [DONE]\n\n") == "stop");
  // Tool calls, spaces around the colon.
  CHECK(read(R"({"choices":[{"message":{},"finish_reason" :  "tool_calls"}]})") == "tool_calls");
}

TEST_CASE("n > 1: every choice's reason, distinct, in order, at most four") {
  CHECK(read(R"({"choices":[{"index":0,"finish_reason":"stop"},{"index":1,"finish_reason":"length"},)"
             R"({"index":2,"finish_reason":"stop"}]})") == "stop,length");
  CHECK(read(R"({"choices":[{"finish_reason":"a"},{"finish_reason":"b"},{"finish_reason":"c"},)"
             R"({"finish_reason":"d"},{"finish_reason":"e"}]})") == "a,b,c,d");
}

TEST_CASE("not reasons: none, null, escapes, other bytes, too long; a reason beyond the tail") {
  CHECK(read("") == "");
  CHECK(read(R"({"choices":[{"text":"x"}]})") == "");
  CHECK(read(R"({"finish_reason":null})") == "");
  CHECK(read(R"({"finish_reason":"st\"op"})") == "");
  CHECK(read(R"({"finish_reason":"a,b"})") == "");  // a ',' would split the list
  CHECK(read(R"({"finish_reason":"a b"})") == "");
  CHECK(read("{\"finish_reason\":\"" + std::string(kMaxFinishReasonBytes, 'x') + "\"}") ==
        std::string(kMaxFinishReasonBytes, 'x'));
  CHECK(read("{\"finish_reason\":\"" + std::string(kMaxFinishReasonBytes + 1, 'x') + "\"}") == "");
  CHECK(read(R"({"finish_reason")") == "");  // cut: the answer ended there
  // Further from the end than the tail: not found (left out, never wrong).
  const std::string far = R"({"choices":[{"finish_reason":"stop"}],"prompt_logprobs":")" +
                          std::string(kFinishTailBytes, 'p') + "\"}";
  CHECK(read(far) == "");
  // A tail that begins inside a key finds only what is whole (the first 5 bytes fall out).
  const std::string cut = std::string(R"({"finish_reason":"early"})") + std::string(kFinishTailBytes - 44, ' ') +
                          R"({"finish_reason":"late"})";
  CHECK(read(cut) == "late");
}
