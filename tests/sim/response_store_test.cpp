// The sim's Responses store: stored responses are found by id; bounded in entries and
// bytes, the oldest forgotten first (counted), the newest always kept. The request
// parser: vLLM's validation of background without store, and a bounded input.
#include "ringgate/sim/response_store.h"

#include <doctest/doctest.h>

#include <string>

using namespace ringgate::sim;

namespace {
ResponseRecord record(std::string id, size_t text_bytes = 0) {
  ResponseRecord r;
  r.id = std::move(id);
  r.text.assign(text_bytes, 'x');
  return r;
}
}  // namespace

TEST_CASE("stored responses are found; the entry bound forgets the oldest") {
  ResponseStore store(3, size_t(1) << 30);
  for (int i = 0; i < 5; ++i) store.put(record("resp_" + std::to_string(i)), {{"user", "hi"}});
  CHECK(store.size() == 3);
  CHECK(store.evicted() == 2);
  CHECK(store.find("resp_0") == nullptr);
  REQUIRE(store.find("resp_4") != nullptr);
  CHECK(store.find("resp_4")->messages.front().text == "hi");
  store.put(record("resp_4", 10), {});  // replaced, not doubled
  CHECK(store.size() == 3);
}

TEST_CASE("the byte bound: the oldest go, the newest stays even alone past it") {
  ResponseStore store(1000, 10000);
  for (int i = 0; i < 50; ++i) store.put(record("r" + std::to_string(i), 1000), {});
  CHECK(store.bytes() <= 10000);
  CHECK(store.find("r49") != nullptr);
  store.put(record("huge", 50000), {});
  CHECK(store.size() == 1);
  CHECK(store.find("huge") != nullptr);
}

TEST_CASE("requests: background needs store; input is bounded") {
  std::string body = R"({"model":"m","input":"hi","background":true,"store":false})";
  ParsedResponses parsed = parse_responses_request(body);
  REQUIRE(std::holds_alternative<ApiError>(parsed));
  CHECK(std::get<ApiError>(parsed).message == "Value error, background can only be used when `store` is true");
  body = R"({"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"a"}]}],"previous_response_id":"resp_1"})";
  parsed = parse_responses_request(body);
  REQUIRE(std::holds_alternative<ResponsesRequest>(parsed));
  CHECK(std::get<ResponsesRequest>(parsed).input.front().text == "a");
  CHECK(std::get<ResponsesRequest>(parsed).previous_response_id == "resp_1");
  std::string many = R"({"model":"m","input":[)";
  for (size_t i = 0; i <= kMaxResponseInputItems; ++i) many += (i ? ",{}" : "{}");
  many += "]}";
  CHECK(std::holds_alternative<ApiError>(parse_responses_request(many)));
}
