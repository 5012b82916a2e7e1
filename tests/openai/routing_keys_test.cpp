// The routing keys of a body (previous_response_id, prompt_cache_key, safety_identifier,
// user): the incremental scanner and BodyReader read them alike, on every split; values
// are bounded (a 10 KB one is flagged, not kept) and control bytes are flagged.
#include "ringgate/openai/routing_keys.h"

#include <doctest/doctest.h>

#include <string>

#include "ringgate/openai/body_scanner.h"
#include "ringgate/openai/request_body.h"

using namespace ringgate::openai;

namespace {

struct NullSink final : TextSink {
  void text(const char*, size_t) override {}
  void part_end() override {}
};

const ApiRoute& responses_route() { return *find_route("/v1/responses"); }

RoutingKeys read_whole(std::string_view body) {
  static BodyReader reader;
  std::string copy(body);
  BodyReader::pad(copy);
  RequestFields fields;
  REQUIRE(reader.read(responses_route(), {}, copy, copy.capacity(), fields).status == 0);
  return fields.keys;
}

bool same(const RoutingKeys& a, const RoutingKeys& b) {
  for (size_t i = 0; i < kRoutingKeyCount; ++i) {
    const RoutingKeyValue &x = a.values[i], &y = b.values[i];
    if (x.value != y.value || x.present != y.present || x.too_long != y.too_long || x.control != y.control)
      return false;
  }
  return true;
}

// BodyReader's keys; the scanner's, at every cut, must be the same (or it gave up).
RoutingKeys read(std::string_view body) {
  const RoutingKeys expected = read_whole(body);
  for (size_t cut = 0; cut <= body.size(); ++cut) {
    BodyScanner scanner;
    NullSink sink;
    scanner.reset(&sink, responses_route().routed_text());
    scanner.feed(body.data(), cut);
    scanner.feed(body.data() + cut, body.size() - cut);
    RequestFields fields;
    if (!scanner.finish(fields)) continue;
    CHECK_MESSAGE(same(fields.keys, expected), "cut at ", cut);
  }
  return expected;
}

}  // namespace

TEST_CASE("each key is read where it is a string") {
  const RoutingKeys keys = read(
      R"({"model":"m","input":"hi","previous_response_id":"resp_1","prompt_cache_key":"conv-7",)"
      R"("safety_identifier":"u\u0041","user":"old"})");
  CHECK(keys[RoutingKey::PreviousResponseId].value == "resp_1");
  CHECK(keys[RoutingKey::PromptCacheKey].value == "conv-7");
  CHECK(keys[RoutingKey::SafetyIdentifier].value == "uA");
  CHECK(keys[RoutingKey::User].value == "old");
  for (const RoutingKeyValue& v : keys.values) CHECK(v.usable());
  // null, numbers, objects: no key (the server judges them).
  const RoutingKeys none = read(R"({"model":"m","input":"hi","previous_response_id":null,"user":{"id":"x"},)"
                                R"("prompt_cache_key":5})");
  for (const RoutingKeyValue& v : none.values) CHECK_FALSE(v.present);
  // Nested ones are not the request's.
  CHECK_FALSE(read(R"({"model":"m","input":[{"role":"user","content":"x","user":"u"}]})")[RoutingKey::User].present);
}

TEST_CASE("bounds: a 10 KB key is flagged and not kept; control bytes are flagged") {
  const std::string at_bound(kMaxRoutingKeyBytes, 'a');
  const RoutingKeys ok = read(R"({"model":"m","input":"x","previous_response_id":")" + at_bound + "\"}");
  CHECK(ok[RoutingKey::PreviousResponseId].usable());
  CHECK(ok[RoutingKey::PreviousResponseId].value == at_bound);
  const std::string huge(10 * 1024, 'a');
  const RoutingKeys big = read_whole(R"({"model":"m","input":"x","previous_response_id":")" + huge + "\"}");
  CHECK(big[RoutingKey::PreviousResponseId].too_long);
  CHECK(big[RoutingKey::PreviousResponseId].value.empty());
  CHECK_FALSE(big[RoutingKey::PreviousResponseId].usable());
  const RoutingKeys control = read(R"({"model":"m","input":"x","previous_response_id":"resp\u0001x","user":"a\tb"})");
  CHECK(control[RoutingKey::PreviousResponseId].control);
  CHECK(control[RoutingKey::User].control);
}
