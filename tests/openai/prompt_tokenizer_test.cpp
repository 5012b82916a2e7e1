#include "ringgate/openai/prompt_tokenizer.h"

#include <doctest/doctest.h>

#include <vector>

using ringgate::openai::SimByteTokenizer;

namespace {
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
  REQUIRE(t.encode(R"({"model":"m","prompt":"abcdefgh"})", ids));
  CHECK(ids == std::vector<uint32_t>{1684234849u, 1751606885u});
  REQUIRE(t.encode(R"({"model":"m","prompt":["first one","second"]})", ids));
  CHECK(ids == sim_ids("first one"));
  REQUIRE(t.encode(R"({"model":"m","messages":[{"role":"system","content":"be brief"},
                      {"role":"user","content":[{"type":"text","text":"hi "},{"type":"text","text":"there"}]},
                      {"role":"assistant","content":null}]})",
                   ids));
  CHECK(ids == sim_ids("system: be brief\nuser: hi there\nassistant: \nassistant: "));
  // add_generation_prompt (default true) and continue_final_message, as ringgate-sim renders them.
  REQUIRE(t.encode(R"({"messages":[{"role":"user","content":"hi"}],"add_generation_prompt":false})", ids));
  CHECK(ids == sim_ids("user: hi\n"));
  REQUIRE(t.encode(R"({"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":" the gpu"}],
                       "continue_final_message":true,"add_generation_prompt":false})",
                   ids));
  CHECK(ids == sim_ids("user: hi\nassistant:  the gpu"));
}

TEST_CASE("sim-bytes tokenizer: what it cannot read is not tokenized") {
  SimByteTokenizer t;
  std::vector<uint32_t> ids;
  CHECK(!t.encode("not json", ids));
  CHECK(!t.encode(R"({"model":"m","prompt":[1,2,3]})", ids));  // token ids: left to the approximate index
  CHECK(!t.encode(R"({"model":"m"})", ids));
  CHECK(!t.encode(R"({"model":"m","messages":[{"content":"no role"}]})", ids));
  CHECK(!t.encode(R"({"model":"m","prompt":""})", ids));
}
