// The continuation of a broken stream: the client's body, the output so far appended,
// the token budget reduced; requests that cannot be continued exactly are refused by reason.
#include <doctest/doctest.h>

#include <string>

#include "ringgate/openai/continuation_request.h"

using namespace ringgate::openai;

namespace {

std::optional<MigrationReason> build(std::string_view body, bool chat, std::string_view text, uint64_t tokens,
                                     std::string& out, std::string_view model_token = {}) {
  ContinuationSpec spec;
  spec.chat = chat;
  spec.text = text;
  spec.tokens = tokens;
  spec.model_token = model_token;
  return build_continuation(body, spec, out);
}

}  // namespace

TEST_CASE("completions: prompt + text so far, max_tokens reduced, other fields as written") {
  std::string out;
  CHECK(build(R"({"model":"m","prompt":"Hello \"you\"","max_tokens":64,"stream":true,"temperature":0.70,)"
              R"("stream_options":{"include_usage":true}})",
              false, " the kv", 2, out) == std::nullopt);
  CHECK(out == R"({"model":"m","prompt":"Hello \"you\" the kv","stream":true,"temperature":0.70,)"
               R"("stream_options":{"include_usage":true},"max_tokens":62})");
  // A batch of one text is that text; vLLM's default budget is 16 when none is named.
  CHECK(build(R"({"model":"m","prompt":["Hi"],"stream":true,"min_tokens":3})", false, " a", 5, out) == std::nullopt);
  CHECK(out == R"({"model":"m","prompt":"Hi a","stream":true,"max_tokens":11,"min_tokens":0})");
  // The rewritten target replaces the client's alias.
  CHECK(build(R"({"model":"alias","prompt":"x","max_tokens":4})", false, "y", 1, out, "\"target\"") == std::nullopt);
  CHECK(out == R"({"model":"target","prompt":"xy","max_tokens":3})");
}

TEST_CASE("chat: one more assistant message, continued; both budgets reduced") {
  std::string out;
  CHECK(build(R"({"model":"m","messages":[{"role":"user","content":"hi"}] ,"max_completion_tokens":10,)"
              R"("max_tokens":20,"add_generation_prompt":true,"stream":true})",
              true, " kv \"x\"\n", 3, out) == std::nullopt);
  CHECK(out == R"({"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":" kv \"x\"\n"}],)"
               R"("stream":true,"max_tokens":17,"max_completion_tokens":7,"continue_final_message":true,)"
               R"("add_generation_prompt":false})");
  // No budget named: none is added (the server's own limit applies, as before).
  CHECK(build(R"({"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true})", true, "a", 1, out) ==
        std::nullopt);
  CHECK(out == R"({"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"a"}],)"
               R"("stream":true,"continue_final_message":true,"add_generation_prompt":false})");
}

TEST_CASE("requests that cannot be continued exactly are refused, by reason") {
  std::string out;
  const auto c = [&](std::string_view body) { return build(body, false, "t", 1, out); };
  const auto chat = [&](std::string_view body) { return build(body, true, "t", 1, out); };
  CHECK(c(R"({"prompt":"p","n":2})") == MigrationReason::SeveralChoices);
  CHECK(c(R"({"prompt":"p","best_of":3})") == MigrationReason::SeveralChoices);
  CHECK(c(R"({"prompt":"p","n":1,"best_of":1})") == std::nullopt);
  CHECK(c(R"({"prompt":"p","logprobs":0})") == MigrationReason::Logprobs);
  CHECK(c(R"({"prompt":"p","logprobs":null})") == std::nullopt);
  CHECK(chat(R"({"messages":[],"logprobs":true})") == MigrationReason::Logprobs);
  CHECK(chat(R"({"messages":[],"logprobs":false,"top_logprobs":0})") == std::nullopt);
  CHECK(c(R"({"prompt":"p","prompt_logprobs":1})") == MigrationReason::Logprobs);
  CHECK(c(R"({"prompt":"p","echo":true})") == MigrationReason::Echo);
  CHECK(chat(R"({"messages":[],"response_format":{"type":"json_object"}})") == MigrationReason::GuidedDecoding);
  CHECK(chat(R"({"messages":[],"response_format":{"type":"text"}})") == std::nullopt);
  CHECK(c(R"({"prompt":"p","guided_regex":"a+"})") == MigrationReason::GuidedDecoding);
  CHECK(c(R"({"prompt":"p","guided_decoding_backend":"xgrammar"})") == std::nullopt);
  CHECK(c(R"({"prompt":"p","structured_outputs":{"choice":["a"]}})") == MigrationReason::GuidedDecoding);
  CHECK(chat(R"({"messages":[],"tools":[],"tool_choice":"required"})") == MigrationReason::GuidedDecoding);
  CHECK(chat(R"({"messages":[],"tools":[],"tool_choice":{"type":"function"}})") == MigrationReason::GuidedDecoding);
  CHECK(chat(R"({"messages":[],"tools":[],"tool_choice":"auto"})") == std::nullopt);
  CHECK(c(R"({"prompt":[1,2,3]})") == MigrationReason::PromptShape);
  CHECK(c(R"({"prompt":["a","b"]})") == MigrationReason::PromptShape);
  CHECK(c(R"({"prompt":[]})") == MigrationReason::PromptShape);
  CHECK(chat(R"({"messages":[{"role":"assistant","content":"x"}],"continue_final_message":true})") ==
        MigrationReason::ContinuesFinalMessage);
  CHECK(c(R"({"prompt":"p","max_tokens":1})") == MigrationReason::NothingLeft);
  CHECK(chat(R"({"messages":[],"max_completion_tokens":1})") == MigrationReason::NothingLeft);
  CHECK(c(R"({"prompt":"p"} x)") == MigrationReason::BadBody);
  CHECK(c(R"([1])") == MigrationReason::BadBody);
  CHECK(c(R"({"model":"m"})") == MigrationReason::BadBody);  // no prompt
  CHECK(c(R"({"prompt":"p","max_tokens":-1})") == MigrationReason::BadBody);
}

// Issue 53: every guided-decoding form vLLM accepts is refused, on both APIs (vLLM's
// completions take response_format and the guided fields too); the forms that guide
// nothing are carried.
TEST_CASE("guided decoding: every form vLLM accepts refuses the continuation; text and the backend knobs do not") {
  struct Row {
    const char* field;  // one more field of the body, as a client writes it
    bool guided;
  };
  const Row rows[] = {
      // response_format: every type but text
      {R"("response_format":{"type":"json_object"})", true},
      {R"("response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}})", true},
      {R"("response_format":{"type":"structural_tag","structures":[{"begin":"<f>","schema":{},"end":"</f>"}],)"
       R"("triggers":["<f"]})",
       true},
      {R"("response_format":{"type":"text"})", false},
      {R"("response_format":null)", false},
      {R"("response_format":{})", true},  // no type: not known to guide nothing
      // the guided_* fields (vLLM before structured_outputs)
      {R"("guided_json":{"type":"object"})", true},
      {R"("guided_json":"{\"type\":\"object\"}")", true},
      {R"("guided_regex":"[a-z]+")", true},
      {R"("guided_choice":["yes","no"])", true},
      {R"("guided_grammar":"root ::= \"a\"")", true},
      {R"("structural_tag":"{\"structures\":[],\"triggers\":[]}")", true},  // ChatCompletionRequest.structural_tag
      {R"("guided_json":null)", false},
      {R"("guided_regex":"")", false},
      {R"("guided_decoding_backend":"xgrammar")", false},  // which engine, not what to guide
      {R"("guided_whitespace_pattern":" ")", false},       // only with guided_json
      {R"("structural_tag":null)", false},
      // structured_outputs (vLLM's StructuredOutputsParams)
      {R"("structured_outputs":{"json":{"type":"object"}})", true},
      {R"("structured_outputs":{"regex":"[a-z]+"})", true},
      {R"("structured_outputs":{"choice":["yes","no"]})", true},
      {R"("structured_outputs":{"grammar":"root ::= \"a\""})", true},
      {R"("structured_outputs":{"structural_tag":"{\"structures\":[],\"triggers\":[]}"})", true},
      {R"("structured_outputs":{"json_object":true})", true},
      {R"("structured_outputs":null)", false},
  };
  std::string out;
  for (const Row& row : rows) {
    for (const bool chat : {false, true}) {
      const std::string body =
          std::string(chat ? R"({"messages":[{"role":"user","content":"q"}],)" : R"({"prompt":"p",)") + row.field +
          R"(,"max_tokens":8,"stream":true})";
      CAPTURE(body);
      const std::optional<MigrationReason> expected =
          row.guided ? std::optional(MigrationReason::GuidedDecoding) : std::nullopt;
      CHECK(build(body, chat, "t", 1, out) == expected);
    }
  }
}
