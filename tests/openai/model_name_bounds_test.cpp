// A client-chosen model name becomes a metrics label and a stats key: it is bounded
// and may not hold bytes that split a key or a line (issue 12).
#include <doctest/doctest.h>

#include <string>

#include "ringgate/openai/request_body.h"

using namespace ringgate::openai;

namespace {
BodyError read(BodyReader& reader, std::string body, RequestFields& fields) {
  BodyReader::pad(body);
  return reader.read(*find_route("/v1/completions"), {}, body, body.capacity(), fields);
}
std::string body_with_model(const std::string& model_json) { return R"({"model":")" + model_json + R"(","prompt":"x"})"; }
}  // namespace

TEST_CASE("a model name up to the cap is read; one byte more is a 400 that says why") {
  BodyReader reader;
  RequestFields fields;
  CHECK(read(reader, body_with_model(std::string(kMaxModelBytes, 'm')), fields).status == 0);
  CHECK(fields.model.size() == kMaxModelBytes);
  BodyError e = read(reader, body_with_model(std::string(kMaxModelBytes + 1, 'm')), fields);
  CHECK(e.status == 400);
  CHECK(e.code == "invalid_model");
  CHECK(std::string(e.message).find("256 bytes") != std::string::npos);
  CHECK(read(reader, body_with_model(std::string(2 << 20, 'm')), fields).status == 400);
}

TEST_CASE("the cap counts unescaped bytes") {
  BodyReader reader;
  RequestFields fields;
  std::string escaped;
  for (size_t i = 0; i < kMaxModelBytes; ++i) escaped += "\\u0061";  // 'a', 6 bytes escaped
  CHECK(read(reader, body_with_model(escaped), fields).status == 0);
  CHECK(read(reader, body_with_model(escaped + "\\u0061"), fields).status == 400);
}

TEST_CASE("control characters in a model name are refused (no stats-key or label splitting)") {
  BodyReader reader;
  RequestFields fields;
  for (const char* bad : {"spoofed\\u001fvictim", "a\\nb", "a\\u0000b", "a\\u007fb", "a\\tb"}) {
    BodyError e = read(reader, body_with_model(bad), fields);
    CHECK_MESSAGE(e.status == 400, bad);
    CHECK(e.code == "invalid_model");
  }
  CHECK(read(reader, body_with_model("caf\\u00e9/model-7b:lora_1"), fields).status == 0);
}
