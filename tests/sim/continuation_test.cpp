// Issue 30: a stream broken mid-way is continued on another sim. Random mode picks each
// word from the seed and the last 8 tokens of the text so far, so a continuation (the
// prompt + the output so far, max_tokens reduced) yields exactly what the unbroken run
// would have, for completions and chat (vLLM's continue_final_message rendering).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ringgate/sim/completion_request.h"
#include "ringgate/sim/model_tokenizer.h"
#include "ringgate/sim/output_text.h"
#include "ringgate/sim/tokenizer.h"

using namespace ringgate::sim;

namespace {

constexpr uint64_t kSeed = 7;

PlannedOutput random_output(std::string_view context, uint32_t limit, bool limit_given, uint64_t seed = kSeed) {
  OutputSpec spec;
  spec.mode = OutputMode::random;
  spec.context = context;
  spec.seed = seed;
  spec.limit = limit;
  spec.limit_given = limit_given;
  return plan_output(spec);
}

std::string joined(const std::vector<std::string_view>& tokens, size_t from = 0, size_t to = SIZE_MAX) {
  std::string out;
  for (size_t i = from; i < std::min(to, tokens.size()); ++i) out += tokens[i];
  return out;
}

ParsedRequest parse(Endpoint e, std::string body) { return parse_completion_request(e, body); }
const CompletionRequest& ok(const ParsedRequest& p) {
  if (auto* e = std::get_if<ApiError>(&p)) FAIL(e->message);
  return std::get<CompletionRequest>(p);
}
ApiError err(const ParsedRequest& p) {
  REQUIRE(std::holds_alternative<ApiError>(p));
  return std::get<ApiError>(p);
}

// For every cut point k of `unbroken` (generated after `context` with `limit`): the
// continuation, whose context is `continued(k)` and whose limit is reduced by k, gives
// the rest of it, with the same finish reason.
template <typename ContextOf>
void check_continuations(const PlannedOutput& unbroken, uint32_t limit, bool limit_given, ContextOf continued) {
  REQUIRE(unbroken.tokens.size() >= 3);
  for (size_t k = 1; k < unbroken.tokens.size(); ++k) {
    CAPTURE(k);
    const std::string context = continued(joined(unbroken.tokens, 0, k));
    const PlannedOutput rest = random_output(context, limit - uint32_t(k), limit_given);
    CHECK(joined(rest.tokens) == joined(unbroken.tokens, k));
    CHECK(rest.finish == unbroken.finish);
  }
}

}  // namespace

TEST_CASE("random mode: every word is one sim token of plain ASCII, so tokens add up for any prompt length") {
  REQUIRE(random_words().size() >= 32);
  for (std::string_view w : random_words()) {
    CAPTURE(w);
    CHECK(w.size() == kBytesPerToken);
    for (char c : w) CHECK((c >= 0x20 && c < 0x7f && c != '"' && c != '\\'));
  }
  for (size_t length = 0; length < 2 * kBytesPerToken; ++length) {
    const std::string prompt(length, 'p');
    const PlannedOutput out = random_output(prompt, 40, true);
    REQUIRE(out.tokens.size() == 40);
    CHECK(count_tokens(prompt + joined(out.tokens)) == count_tokens(prompt) + 40);
  }
}

TEST_CASE("random mode: the output follows from the seed and the text; choices k > 0 differ") {
  const std::string prompt = "The quick brown fox jumps over the lazy dog";
  CHECK(joined(random_output(prompt, 30, true).tokens) == joined(random_output(prompt, 30, true).tokens));
  CHECK(joined(random_output(prompt, 30, true).tokens) != joined(random_output(prompt, 30, true, 8).tokens));
  CHECK(choice_seed(kSeed, 0) == kSeed);
  CHECK(joined(random_output(prompt, 30, true, choice_seed(kSeed, 1)).tokens) !=
        joined(random_output(prompt, 30, true, choice_seed(kSeed, 2)).tokens));
  // Only the last 8 tokens (32 bytes) of the text count.
  CHECK(joined(random_output("something else entirely. " + prompt, 30, true).tokens) ==
        joined(random_output(prompt, 30, true).tokens));
}

TEST_CASE("random mode: max_tokens is filled; without it, the stop is decided step by step from the text") {
  const PlannedOutput filled = random_output("fill me", 50, true);
  CHECK(filled.tokens.size() == 50);
  CHECK(filled.finish == FinishReason::length);
  // Without max_tokens: stops ("stop") at 1 in 16 steps, at least one word, never past the limit.
  size_t stopped = 0, total = 0;
  for (int i = 0; i < 200; ++i) {
    const PlannedOutput out = random_output("prompt " + std::to_string(i), 1000, false);
    REQUIRE(!out.tokens.empty());
    stopped += out.finish == FinishReason::stop;
    total += out.tokens.size();
    const PlannedOutput capped = random_output("prompt " + std::to_string(i), 16, false);
    CHECK(capped.tokens.size() == std::min<size_t>(out.tokens.size(), 16));
    CHECK(capped.finish == (out.tokens.size() < 16 ? FinishReason::stop : FinishReason::length));
  }
  CHECK(stopped == 200);
  CHECK(total > 200 * 8);  // about 16 words on average
  CHECK(total < 200 * 32);
}

TEST_CASE("a completions continuation (prompt + output so far) reproduces the unbroken output") {
  const std::string prompt = "Once upon a time, in a cluster far away";
  SUBCASE("with max_tokens: reduced by the tokens generated") {
    const PlannedOutput unbroken = random_output(prompt, 40, true);
    check_continuations(unbroken, 40, true, [&](const std::string& partial) { return prompt + partial; });
  }
  SUBCASE("without max_tokens: the stop comes where it would have") {
    size_t checked = 0;
    for (int i = 0; i < 8; ++i) {
      const std::string p = prompt + " #" + std::to_string(i);
      const PlannedOutput unbroken = random_output(p, 2000, false);  // 2000: as chat's max_model_len - prompt
      CHECK(unbroken.finish == FinishReason::stop);
      if (unbroken.tokens.size() < 3) continue;
      check_continuations(unbroken, 2000, false, [&](const std::string& partial) { return p + partial; });
      ++checked;
    }
    CHECK(checked >= 4);
  }
}

TEST_CASE("a chat continuation (continue_final_message) renders the unbroken context byte for byte") {
  size_t checked = 0;
  for (int i = 0; i < 8; ++i) {
    const std::string messages =
        R"([{"role":"system","content":"be brief"},{"role":"user","content":"question )" + std::to_string(i) + R"("}])";
    const std::string text = ok(parse(Endpoint::chat_completions, R"({"messages":)" + messages + "}")).prompts[0].text;
    CHECK(text == "system: be brief\nuser: question " + std::to_string(i) + "\nassistant: ");
    // The continuation the gateway sends: the messages plus the output so far as an
    // assistant message to be continued.
    auto continued = [&](const std::string& partial) {
      std::string body = R"({"messages":)" + messages.substr(0, messages.size() - 1) +
                         R"(,{"role":"assistant","content":")" + partial +
                         R"("}],"continue_final_message":true,"add_generation_prompt":false})";
      return ok(parse(Endpoint::chat_completions, body)).prompts[0].text;
    };
    CHECK(continued(" the gpu") == text + " the gpu");
    CHECK(count_tokens(continued(" the gpu")) == count_tokens(text) + 2);
    check_continuations(random_output(text, 40, true), 40, true, continued);
    const PlannedOutput unbroken = random_output(text, 2000, false);
    CHECK(unbroken.finish == FinishReason::stop);
    if (unbroken.tokens.size() < 3) continue;
    check_continuations(unbroken, 2000, false, continued);
    ++checked;
  }
  CHECK(checked >= 4);
}

TEST_CASE("chat: add_generation_prompt and continue_final_message as vLLM takes them; both true is a 400") {
  const std::string msgs = R"("messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Hel"}])";
  CHECK(ok(parse(Endpoint::chat_completions, "{" + msgs + "}")).prompts[0].text ==
        "user: hi\nassistant: Hel\nassistant: ");
  CHECK(ok(parse(Endpoint::chat_completions, "{" + msgs + R"(,"add_generation_prompt":false})")).prompts[0].text ==
        "user: hi\nassistant: Hel\n");
  const CompletionRequest cont = ok(parse(Endpoint::chat_completions,
                                         "{" + msgs + R"(,"add_generation_prompt":false,"continue_final_message":true})"));
  CHECK(cont.prompts[0].text == "user: hi\nassistant: Hel");
  CHECK(cont.rendering.continue_final_message);
  CHECK_FALSE(cont.rendering.add_generation_prompt);
  // Both set to true: vLLM's check_generation_prompt validator.
  const ApiError both = err(parse(Endpoint::chat_completions,
                                  "{" + msgs + R"(,"continue_final_message":true,"add_generation_prompt":true})"));
  CHECK(both.status == 400);
  CHECK(both.message.find("Cannot set both `continue_final_message` and `add_generation_prompt` to True.") !=
        std::string::npos);
  // continue_final_message with add_generation_prompt left at its default: HF's apply_chat_template refuses.
  const ApiError implied = err(parse(Endpoint::chat_completions, "{" + msgs + R"(,"continue_final_message":true})"));
  CHECK(implied.status == 400);
  CHECK(implied.message.starts_with("continue_final_message and add_generation_prompt are not compatible."));
  CHECK(err(parse(Endpoint::chat_completions, "{" + msgs + R"(,"continue_final_message":"yes"})")).param ==
        "continue_final_message");
  CHECK(err(parse(Endpoint::chat_completions, "{" + msgs + R"(,"add_generation_prompt":1})")).param ==
        "add_generation_prompt");
  // Completions have no chat rendering: the fields are ignored, as vLLM's CompletionRequest ignores them.
  CHECK(ok(parse(Endpoint::completions, R"({"prompt":"x","continue_final_message":true})")).prompts[0].text == "x");
}

TEST_CASE("--tokenizer: continue_final_message ends the template's text where the final message does (HF)") {
  auto loaded = ModelTokenizer::load(std::string(RINGGATE_TEST_MODELS) + "/tokenizer-llama3_1/models");
  REQUIRE_MESSAGE(loaded, (loaded ? "" : loaded.error().message));
  const ModelTokenizer& tokenizer = *loaded.value();
  const std::string user = R"({"role":"user","content":"Tell me about caches."})";
  const PromptInput unbroken = ok(parse(Endpoint::chat_completions, R"({"messages":[)" + user + "]}")).prompts[0];
  const std::string partial = "A cache keeps";
  const CompletionRequest continued =
      ok(parse(Endpoint::chat_completions, R"({"messages":[)" + user + R"(,{"role":"assistant","content":")" + partial +
                                               R"("}],"continue_final_message":true,"add_generation_prompt":false})"));
  auto generation = tokenizer.render_chat(unbroken, {});
  auto continuation = tokenizer.render_chat(continued.prompts[0], continued.rendering);
  REQUIRE(generation);
  REQUIRE(continuation);
  CHECK(generation.value().ends_with("<|start_header_id|>assistant<|end_header_id|>\n\n"));
  // Llama 3.1's template keeps the content as it is: the generation prompt + the text so
  // far, cut before the final message's <|eot_id|>.
  CHECK(continuation.value() == generation.value() + partial);
  auto plain = tokenizer.render_chat(unbroken, {.add_generation_prompt = false});
  REQUIRE(plain);
  CHECK(plain.value().ends_with("Tell me about caches.<|eot_id|>"));
  // Trailing spaces the template trims (Llama's `| trim`) are cut too, as HF does.
  const CompletionRequest spaced = ok(parse(
      Endpoint::chat_completions, R"({"messages":[)" + user + R"(,{"role":"assistant","content":")" + partial +
                                      R"( "}],"continue_final_message":true,"add_generation_prompt":false})"));
  auto trimmed = tokenizer.render_chat(spaced.prompts[0], spaced.rendering);
  REQUIRE(trimmed);
  CHECK(trimmed.value() == generation.value() + partial);
  auto ids = tokenizer.encode(continued.prompts[0], Endpoint::chat_completions, continued.rendering);
  REQUIRE(ids);
  CHECK(ids.value().size() > 5);
}
