#include <doctest/doctest.h>

#include <string>

#include "ringgate/openai/request_body.h"

using namespace ringgate::openai;

namespace {

BodyError read(BodyReader& reader, std::string body, RequestFields& fields, std::string* kept = nullptr) {
  BodyReader::pad(body);
  BodyError error = reader.read(body, body.capacity(), fields);
  if (kept) *kept = body;
  return error;
}

std::string joined(const RequestFields& fields) {
  std::string out;
  for (auto part : fields.prompt_parts) out += std::string(part) + "|";
  return out;
}

}  // namespace

TEST_CASE("completions: model, stream, prompt string and array") {
  BodyReader reader;
  RequestFields fields;
  std::string body = R"({"prompt":"Hello","model":"facebook/opt-125m","stream":true,"max_tokens":8})";
  BodyReader::pad(body);
  REQUIRE(reader.read(body, body.capacity(), fields).status == 0);
  CHECK(fields.model == "facebook/opt-125m");
  CHECK(fields.stream);
  CHECK(joined(fields) == "Hello|");
  CHECK(body.substr(fields.model_offset, fields.model_length) == "\"facebook/opt-125m\"");

  REQUIRE(read(reader, R"({"model":"m","prompt":["a","b",[1,2]]})", fields).status == 0);
  CHECK(joined(fields) == "a|b|");
  CHECK_FALSE(fields.stream);
}

TEST_CASE("chat: role then content for each message, in order, whatever the key order") {
  BodyReader reader;
  RequestFields fields;
  REQUIRE(read(reader,
               R"({"model":"m","messages":[{"role":"system","content":"be brief"},)"
               R"({"content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"x"}}],"role":"user"}]})",
               fields)
              .status == 0);
  CHECK(joined(fields) == "system|be brief|user|hi|");
}

TEST_CASE("escaped model names are unescaped, token offsets stay on the raw bytes") {
  BodyReader reader;
  RequestFields fields;
  std::string kept;
  REQUIRE(read(reader, "{ \"model\" : \"a\\\"b\" , \"prompt\": \"x\"}", fields, &kept).status == 0);
  CHECK(fields.model == "a\"b");
  CHECK(kept.substr(fields.model_offset, fields.model_length) == "\"a\\\"b\"");
}

TEST_CASE("errors: bad JSON, missing or non-string model, wrong types") {
  BodyReader reader;
  RequestFields fields;
  CHECK(read(reader, "", fields).code == "invalid_json");
  CHECK(read(reader, "not json", fields).code == "invalid_json");
  CHECK(read(reader, R"({"model":"m")", fields).status == 400);
  CHECK(read(reader, R"({"model":"m"} trailing)", fields).status == 400);
  CHECK(read(reader, R"([1,2])", fields).code == "invalid_json");
  CHECK(read(reader, R"({"prompt":"x"})", fields).code == "missing_model");
  CHECK(read(reader, R"({"model":5})", fields).code == "invalid_model");
  CHECK(read(reader, R"({"model":null})", fields).code == "invalid_model");
  CHECK(read(reader, R"({"model":""})", fields).code == "invalid_model");
  CHECK(read(reader, R"({"model":"m","stream":"yes"})", fields).code == "invalid_stream");
  CHECK(read(reader, R"({"model":"m","prompt":5})", fields).code == "invalid_prompt");
  CHECK(read(reader, R"({"model":"m","messages":"hi"})", fields).code == "invalid_messages");
  CHECK(read(reader, R"({"model":"m","stream":null})", fields).status == 0);
}

TEST_CASE("an unpadded buffer is refused, not over-read") {
  BodyReader reader;
  RequestFields fields;
  const std::string body = R"({"model":"m"})";
  CHECK(reader.read(body, body.size(), fields).status == 400);
}
