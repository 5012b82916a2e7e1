// Media content parts in the prefix chain (issue 49): the body scanner's path
// (PromptDigest) and BodyReader's (its prompt parts through PrefixHasher) give the same
// keys for the same body; an image is one unit keyed by its decoded bytes and weighed
// as scheduler.tokensPerImage tokens, whatever the size of its base64; the parts are
// counted.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ringgate/openai/api_routes.h"
#include "ringgate/openai/request_body.h"
#include "ringgate/proxy/prompt_digest.h"
#include "ringgate/sched/prefix_hasher.h"

using namespace ringgate;

namespace {

const openai::ApiRoute& chat = openai::route_for("/v1/chat/completions");

std::string image(const std::string& base64) {
  return R"({"type":"image_url","image_url":{"url":"data:image/png;base64,)" + base64 + R"("}})";
}

// A conversation: a system prompt, then per turn a user message of `parts` and an answer.
std::string conversation(const std::vector<std::string>& user_turns) {
  std::string body = R"({"model":"m","messages":[{"role":"system","content":")" + std::string(200, 's') + R"("})";
  for (size_t i = 0; i < user_turns.size(); ++i) {
    body += R"(,{"role":"user","content":[)" + user_turns[i] + "]}";
    if (i + 1 < user_turns.size()) body += R"(,{"role":"assistant","content":"answer )" + std::to_string(i) + R"("})";
  }
  return body + "]}";
}

struct Keys {
  std::vector<uint64_t> scanned, read;
  openai::MediaPartCounts media;
};

// Both paths' keys for `body` (the digest fed in pieces of `piece` bytes).
Keys keys_of(const std::string& body, sched::MediaWeights weights = {}, size_t piece = 4096) {
  Keys k;
  proxy::PromptDigest digest(proxy::DigestOptions(64, weights));
  openai::RequestFields fields;
  digest.begin(chat, body.size());
  for (size_t n = piece; n < body.size(); n += piece) digest.advance(std::string_view(body).substr(0, n));
  REQUIRE(digest.finish(chat, body, fields));
  sched::PrefixHasher::keys("m", digest.chain(), k.scanned);
  k.media = fields.media;
  static openai::BodyReader reader;
  std::string copy(body);
  openai::BodyReader::pad(copy);
  openai::RequestFields read;
  REQUIRE(reader.read(chat, {}, copy, copy.capacity(), read).status == 0);
  sched::PrefixHasher(64, sched::kDefaultMaxPrefixBlocks, weights).hash("m", read.prompt_parts, k.read);
  CHECK(read.media == fields.media);
  return k;
}

size_t common_prefix(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

const std::string kCat = std::string(4000, 'A') + "AQID";
const std::string kDog = std::string(4000, 'A') + "AQIE";

}  // namespace

TEST_CASE("media chain: the scanner's and BodyReader's keys are the same, in any pieces") {
  const std::vector<std::string> bodies = {
      conversation({R"({"type":"text","text":"What is this?"},)" + image(kCat)}),
      conversation({image(kCat), image(kDog) + R"(,{"type":"text","text":"Which is bigger?"})"}),
      conversation({R"({"type":"input_audio","input_audio":{"data":"UklGRiQAAABXQVZF","format":"wav"}})",
                    R"({"type":"image_url","image_url":"https://example.com/x.png"},{"type":"video_url","video_url":{}})"}),
      conversation({image("bro!ken")}),
  };
  for (const std::string& body : bodies) {
    for (size_t piece : {size_t(1), size_t(61), size_t(4096)}) {
      CAPTURE(body.substr(0, 300));
      CAPTURE(piece);
      const Keys k = keys_of(body, {}, piece);
      CHECK(!k.scanned.empty());
      CHECK(k.scanned == k.read);
    }
  }
}

TEST_CASE("media chain: the same image in the next turn is a hit, two images never share its blocks") {
  const Keys turn1 = keys_of(conversation({R"({"type":"text","text":"What is this?"},)" + image(kCat)}));
  const Keys turn2 = keys_of(conversation({R"({"type":"text","text":"What is this?"},)" + image(kCat),
                                           R"({"type":"text","text":"And its colour?"})"}));
  const Keys other = keys_of(conversation({R"({"type":"text","text":"What is this?"},)" + image(kDog)}));
  // Every whole block of turn 1 (all but its trailing partial one) begins turn 2.
  CHECK(common_prefix(turn1.scanned, turn2.scanned) >= turn1.scanned.size() - 1);
  // Text before the image is shared; from the image's first block on, nothing is.
  const size_t shared = common_prefix(turn1.scanned, other.scanned);
  CHECK(shared >= (7 + 201 + 5 + 14) / 64);
  CHECK(shared <= (7 + 201 + 5 + 14 + 64) / 64);
  CHECK(turn1.scanned.size() == other.scanned.size());
  CHECK(turn1.media.parts[size_t(openai::MediaOutcome::Image)] == 1);
}

TEST_CASE("media chain: an image weighs tokensPerImage tokens, not its base64's bytes") {
  const std::string small = conversation({image(kCat)});
  const std::string huge = conversation({image(std::string(4u << 20, 'B'))});  // 4 MiB of base64
  for (uint32_t tokens : {1u, 576u, 4096u}) {
    CAPTURE(tokens);
    const sched::MediaWeights weights{tokens, 750};
    const Keys a = keys_of(small, weights), b = keys_of(huge, weights, 65536);
    CHECK(a.scanned == a.read);
    CHECK(b.scanned == b.read);
    // system 0xFF text 0xFF user 0xFF, then the record's stream bytes and its 0xFF.
    const size_t stream = 7 + 201 + 5 + std::max<size_t>(16, size_t(tokens) * 4) + 1;
    CHECK(a.scanned.size() == sched::entries_for_blocks((stream + 63) / 64));
    CHECK(b.scanned.size() == sched::entries_for_blocks((stream + 63) / 64));
  }
  // The bound: a weight past kMaxMediaTokens counts as kMaxMediaTokens.
  const Keys capped = keys_of(small, {1u << 30, 750}), max = keys_of(small, {sched::kMaxMediaTokens, 750});
  CHECK(capped.scanned == max.scanned);
  CHECK(capped.read == max.read);
}

TEST_CASE("media chain: parts are counted where the worker counts them, once a body is understood") {
  openai::MediaPartCounters counters;
  proxy::PromptDigest digest(proxy::DigestOptions(64, {}, &counters));
  const std::string body =
      conversation({image(kCat), image("%%%") + R"(,{"type":"file","file":{}},{"type":"input_audio","input_audio":{"data":"AAAA"}})"});
  openai::RequestFields fields;
  digest.begin(chat, body.size());
  REQUIRE(digest.finish(chat, body, fields));
  CHECK(counters.parts[size_t(openai::MediaOutcome::Image)].get() == 1);
  CHECK(counters.parts[size_t(openai::MediaOutcome::Audio)].get() == 1);
  CHECK(counters.parts[size_t(openai::MediaOutcome::Broken)].get() == 1);
  CHECK(counters.parts[size_t(openai::MediaOutcome::Unknown)].get() == 1);
  // BodyReader counts what it reads (the scanner gave up, or a body with a role after its content).
  openai::MediaPartCounters read_counters;
  openai::BodyReader reader;
  reader.count_media_into(&read_counters);
  std::string copy(body);
  openai::BodyReader::pad(copy);
  REQUIRE(reader.read(chat, {}, copy, copy.capacity(), fields).status == 0);
  for (size_t i = 0; i < openai::kMediaOutcomeNames.size(); ++i) CHECK(read_counters.parts[i].get() == counters.parts[i].get());
  // A body the scanner gives up on is not counted by the digest.
  const std::string escaped_key = R"({"model":"m","messages":[{"role":"user","content":[)" + image(kCat) + R"(]}],"\u0061":1})";
  digest.begin(chat, escaped_key.size());
  CHECK_FALSE(digest.finish(chat, escaped_key, fields));
  CHECK(counters.parts[size_t(openai::MediaOutcome::Image)].get() == 1);
}
