// The prompt's root (PromptDigest::root_blocks): the whole blocks of a chat through
// its first user message, the same in every turn of a conversation, whatever pieces
// the body arrives in; none for a completion prompt or a chat without a user message.
#include "ringgate/proxy/prompt_digest.h"

#include <doctest/doctest.h>

#include <string>
#include <tuple>

#include "ringgate/openai/api_routes.h"

using namespace ringgate;

namespace {

const openai::ApiRoute& chat = openai::route_for("/v1/chat/completions");
const openai::ApiRoute& completions = openai::route_for("/v1/completions");

std::string message(const std::string& role, const std::string& content) {
  return R"({"role":")" + role + R"(","content":")" + content + R"("})";
}

std::string chat_body(const std::vector<std::string>& messages) {
  std::string body = R"({"model":"m","messages":[)";
  for (size_t i = 0; i < messages.size(); ++i) body += (i ? "," : "") + messages[i];
  return body + "]}";
}

// root_blocks() of `body` fed in pieces of `piece` bytes.
size_t root_of(const openai::ApiRoute& route, const std::string& body, size_t piece) {
  proxy::PromptDigest digest(64);
  openai::RequestFields fields;
  digest.begin(route, body.size());
  for (size_t n = piece; n < body.size(); n += piece) digest.advance(std::string_view(body).substr(0, n));
  REQUIRE(digest.finish(route, body, fields));
  return digest.root_blocks();
}

}  // namespace

TEST_CASE("prompt digest: a chat's root ends with its first user message, in every turn") {
  const std::string system(300, 's'), first(150, 'u');
  // The joined stream: "system" 0xFF system 0xFF "user" 0xFF first 0xFF = 7 + 301 + 5 + 151 bytes.
  const size_t root = (7 + 301 + 5 + 151) / 64;
  const std::string turn1 = chat_body({message("system", system), message("user", first)});
  const std::string turn3 = chat_body({message("system", system), message("user", first), message("assistant", "a"),
                                       message("user", "again"), message("assistant", std::string(400, 'b')),
                                       message("user", "more")});
  for (size_t piece : {size_t(1), size_t(7), size_t(64), size_t(4096)}) {
    CAPTURE(piece);
    CHECK(root_of(chat, turn1, piece) == root);
    CHECK(root_of(chat, turn3, piece) == root);
    // No system prompt: the first message is the root.
    CHECK(root_of(chat, chat_body({message("user", first), message("assistant", "x")}), piece) == (5 + 151) / 64);
    // Only "user" is a user: neither "users" nor "use" nor a system prompt alone roots it.
    CHECK(root_of(chat, chat_body({message("users", first), message("use", first)}), piece) == 0);
    CHECK(root_of(chat, chat_body({message("system", system)}), piece) == 0);
    // A root shorter than a block has no whole block: none.
    CHECK(root_of(chat, chat_body({message("user", "hi"), message("assistant", system)}), piece) == 0);
  }
  // A completion prompt has no messages.
  CHECK(root_of(completions, R"({"model":"m","prompt":")" + system + R"("})", 16) == 0);
}

TEST_CASE("prompt digest: the root is forgotten between requests") {
  proxy::PromptDigest digest(64);
  openai::RequestFields fields;
  const std::string body = chat_body({message("user", std::string(200, 'u'))});
  REQUIRE(digest.finish(chat, body, fields));
  CHECK(digest.root_blocks() == (5 + 201) / 64);
  const std::string plain = R"({"model":"m","prompt":"x"})";
  REQUIRE(digest.finish(completions, plain, fields));
  CHECK(digest.root_blocks() == 0);
}

TEST_CASE("prompt digest: the prompt's bytes (its length in tokens: PickRequest::prompt_tokens), in any pieces") {
  // The text of its parts, without the parts' terminators: a completion's prompt, a chat's roles and contents.
  const std::string prompt(8193, 'p');
  const std::string body = R"({"model":"m","prompt":")" + prompt + R"("})";
  const std::string chat_text = chat_body({message("system", "abc"), message("user", std::string(100, 'u'))});
  for (size_t piece : {size_t(1), size_t(64), size_t(100000)}) {
    CAPTURE(piece);
    for (auto [route, text, bytes] :
         {std::tuple{&completions, body, uint64_t(8193)}, std::tuple{&chat, chat_text, uint64_t(6 + 3 + 4 + 100)}}) {
      proxy::PromptDigest digest(64);
      openai::RequestFields fields;
      digest.begin(*route, text.size());
      for (size_t n = piece; n < text.size(); n += piece) digest.advance(std::string_view(text).substr(0, n));
      REQUIRE(digest.finish(*route, text, fields));
      CHECK(digest.prompt_bytes() == bytes);
    }
  }
  // As PrefixHasher counts the same parts (the router's other path).
  const std::string_view parts[] = {"system", "abc", "user", std::string_view(prompt).substr(0, 100)};
  CHECK(sched::PrefixHasher(64).prompt_bytes(parts) == 6 + 3 + 4 + 100);
}
