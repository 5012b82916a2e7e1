#include "ringgate/openai/prompt_tokenizer.h"
#include "ringgate/kvevents/sim_media_rendering.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace ringgate::openai;

namespace {
constexpr TextFields kPromptOrChat = kPromptField | kMessagesField;

// ringgate-sim's ids for `text`: 4 bytes a token, little-endian.
std::vector<uint32_t> sim_ids(std::string_view text) {
  std::vector<uint32_t> ids;
  for (size_t off = 0; off < text.size(); off += 4) {
    uint32_t id = 0;
    for (size_t i = 0; i < 4 && off + i < text.size(); ++i) id |= uint32_t(uint8_t(text[off + i])) << (8 * i);
    ids.push_back(id);
  }
  return ids;
}
}  // namespace

TEST_CASE("sim-bytes tokenizer: completions prompt and chat rendered as ringgate-sim renders them") {
  SimByteTokenizer t;
  std::vector<uint32_t> ids;
  REQUIRE(t.encode(kPromptOrChat, R"({"model":"m","prompt":"abcdefgh"})", ids));
  CHECK(ids == std::vector<uint32_t>{1684234849u, 1751606885u});
  REQUIRE(t.encode(kPromptOrChat, R"({"model":"m","prompt":["first one","second"]})", ids));
  CHECK(ids == sim_ids("first one"));
  REQUIRE(t.encode(kPromptOrChat, R"({"model":"m","messages":[{"role":"system","content":"be brief"},
                      {"role":"user","content":[{"type":"text","text":"hi "},{"type":"text","text":"there"}]},
                      {"role":"assistant","content":null}]})",
                   ids));
  CHECK(ids == sim_ids("system: be brief\nuser: hi there\nassistant: \nassistant: "));
  // add_generation_prompt (default true) and continue_final_message, as ringgate-sim renders them.
  REQUIRE(t.encode(kPromptOrChat, R"({"messages":[{"role":"user","content":"hi"}],"add_generation_prompt":false})", ids));
  CHECK(ids == sim_ids("user: hi\n"));
  REQUIRE(t.encode(kPromptOrChat, R"({"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":" the gpu"}],
                       "continue_final_message":true,"add_generation_prompt":false})",
                   ids));
  CHECK(ids == sim_ids("user: hi\nassistant:  the gpu"));
}

TEST_CASE("sim-bytes tokenizer: what it cannot read is not tokenized") {
  SimByteTokenizer t;
  std::vector<uint32_t> ids;
  CHECK(!t.encode(kPromptOrChat, "not json", ids));
  // Token ids: left to the approximate index.
  CHECK(!t.encode(kPromptOrChat, R"({"model":"m","prompt":[1,2,3]})", ids));
  CHECK(!t.encode(kPromptOrChat, R"({"model":"m"})", ids));
  CHECK(!t.encode(kPromptOrChat, R"({"model":"m","messages":[{"content":"no role"}]})", ids));
  CHECK(!t.encode(kPromptOrChat, R"({"model":"m","prompt":""})", ids));
}

TEST_CASE("sim-bytes tokenizer: only the route's text fields are read") {
  SimByteTokenizer t;
  std::vector<uint32_t> ids;
  const std::string both = R"({"model":"m","messages":[{"role":"user","content":"chat"}],"prompt":"text","input":"in"})";
  REQUIRE(t.encode(find_route("/v1/completions")->routed_text(), both, ids));
  CHECK(ids == sim_ids("text"));
  REQUIRE(t.encode(find_route("/v1/chat/completions")->routed_text(), both, ids));
  CHECK(ids == sim_ids("user: chat\nassistant: "));
  REQUIRE(t.encode(find_route("/v1/embeddings")->routed_text(), R"({"model":"m","input":["in","two"]})", ids));
  CHECK(ids == sim_ids("in"));
  // Pairs (score, rerank) are tokenized by vLLM its own way; load-only routes have no text.
  CHECK(!t.encode(find_route("/v1/score")->routed_text(), R"({"model":"m","text_1":"a","text_2":"b"})", ids));
  CHECK(!t.encode(find_route("/tokenize")->routed_text(), both, ids));
}

TEST_CASE("sim-bytes tokenizer: media parts are placeholder runs with the part's uuid or its text's hash") {
  namespace kve = ringgate::kvevents;
  SimByteTokenizer t(5, 3);
  std::vector<uint32_t> ids;
  std::vector<kve::MediaPlaceholder> media;
  const std::string body = R"({"messages":[{"role":"user","content":[{"type":"text","text":"look"},
      {"type":"image_url","image_url":{"url":"https://x/cat.png"},"uuid":"cat-1"},
      {"type":"text","text":"and hear"},{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]})";
  REQUIRE(t.encode(kPromptOrChat, body, ids, true, nullptr, &media));
  // "user: look" is 10 bytes: padded to 12 (3 tokens), then 5 image placeholders.
  const uint32_t img = kve::sim_placeholder_token(kve::SimMediaKind::Image);
  const uint32_t aud = kve::sim_placeholder_token(kve::SimMediaKind::Audio);
  std::vector<uint32_t> want = sim_ids("user: look");
  want.insert(want.end(), 5, img);
  for (uint32_t id : sim_ids("and hear")) want.push_back(id);
  want.insert(want.end(), 3, aud);
  for (uint32_t id : sim_ids("\nassistant: ")) want.push_back(id);
  CHECK(ids == want);
  REQUIRE(media.size() == 2);
  CHECK(media[0] == kve::MediaPlaceholder{3, 5, "cat-1"});
  CHECK(media[1] == kve::MediaPlaceholder{10, 3, kve::sim_media_identifier(kve::SimMediaKind::Audio, "AAAA")});
  CHECK(media[1].identifier.size() == 16);
  // The url as a bare string, no uuid: the url's hash; a null uuid is none.
  REQUIRE(t.encode(kPromptOrChat,
                   R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":"u","uuid":null}]}]})",
                   ids, true, nullptr, &media));
  REQUIRE(media.size() == 1);
  CHECK(media[0].identifier == kve::sim_media_identifier(kve::SimMediaKind::Image, "u"));
  CHECK(media[0].offset == 2);  // "user: " padded to 8 bytes
  // Text only: no runs (the ids exactly as before).
  REQUIRE(t.encode(kPromptOrChat, R"({"messages":[{"role":"user","content":"hi"}]})", ids, true, nullptr, &media));
  CHECK(media.empty());
  // What the sim refuses is not tokenized: no url, a uuid that is not a string or too long.
  CHECK(!t.encode(kPromptOrChat, R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]})",
                  ids));
  CHECK(!t.encode(kPromptOrChat,
                  R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":"u","uuid":7}]}]})", ids));
  const std::string at_bound(kve::kMaxMediaUuidBytes, 'u');
  auto with_uuid = [](const std::string& uuid) {
    return R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":"u","uuid":")" + uuid +
           R"("}]}]})";
  };
  REQUIRE(t.encode(kPromptOrChat, with_uuid(at_bound), ids, true, nullptr, &media));
  CHECK(media.at(0).identifier == at_bound);
  CHECK(!t.encode(kPromptOrChat, with_uuid(at_bound + "u"), ids, true, nullptr, &media));
  // Other part types are skipped, as the sim skips them.
  REQUIRE(t.encode(kPromptOrChat,
                   R"({"messages":[{"role":"user","content":[{"type":"video_url","video_url":{"url":"v"}}]}]})", ids,
                   true, nullptr, &media));
  CHECK(media.empty());
  CHECK(ids == sim_ids("user: \nassistant: "));
}
