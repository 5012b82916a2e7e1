// The routing fields of a multipart/form-data body (audio): the model form field and
// its place in the body, stream, and every bound a client can run into, each a 400
// that says which.
#include "ringgate/openai/form_body.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace ringgate::openai;

namespace {

constexpr std::string_view kType = "multipart/form-data; boundary=----formdata-abc";

std::string part(std::string_view name, std::string_view value, bool file = false) {
  std::string out = "------formdata-abc\r\nContent-Disposition: form-data; name=\"" + std::string(name) + "\"";
  if (file) out += "; filename=\"audio.wav\"\r\nContent-Type: audio/wav";
  return out + "\r\n\r\n" + std::string(value) + "\r\n";
}

std::string form(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += p;
  return out + "------formdata-abc--\r\n";
}

BodyError read(const std::string& body, RequestFields& fields, std::string_view type = kType) {
  return read_form_body(type, body, fields);
}

}  // namespace

TEST_CASE("model and stream from the form, wherever they stand; the file is not read") {
  RequestFields fields;
  const std::string body = form({part("file", std::string(100000, '\0') + "RIFF", true), part("language", "en"),
                                 part("model", "openai/whisper-large-v3"), part("stream", "True")});
  REQUIRE(read(body, fields).status == 0);
  CHECK(fields.model == "openai/whisper-large-v3");
  CHECK(fields.model_in_form);
  CHECK(body.substr(fields.model_offset, fields.model_length) == "openai/whisper-large-v3");
  CHECK(fields.stream);
  CHECK(fields.prompt_parts.empty());
  REQUIRE(read(form({part("model", "m"), part("stream", "false")}), fields).status == 0);
  CHECK_FALSE(fields.stream);
  REQUIRE(read(form({part("model", "m")}), fields).status == 0);
  CHECK_FALSE(fields.stream);
}

TEST_CASE("the model form field is bounded as a JSON model is") {
  RequestFields fields;
  CHECK(read(form({part("model", std::string(kMaxModelBytes, 'm'))}), fields).status == 0);
  CHECK(read(form({part("model", std::string(kMaxModelBytes + 1, 'm'))}), fields).message ==
        "\"model\" is longer than 256 bytes");
  CHECK(read(form({part("model", "a\nb")}), fields).code == "invalid_model");
  CHECK(read(form({part("model", "")}), fields).code == "invalid_model");
  CHECK(read(form({part("model", "m", true)}), fields).code == "invalid_model");
  CHECK(read(form({part("model", "a"), part("model", "b")}), fields).code == "invalid_model");
  CHECK(read(form({part("file", "x", true)}), fields).code == "missing_model");
}

TEST_CASE("parts, part heads and field sizes are bounded") {
  RequestFields fields;
  std::vector<std::string> parts{part("model", "m")};
  while (parts.size() < kMaxFormParts) parts.push_back(part("timestamp_granularities[]", "word"));
  CHECK(read(form(parts), fields).status == 0);
  parts.push_back(part("x", "y"));
  CHECK(read(form(parts), fields).code == "too_many_parts");

  const std::string pad = "\r\nX-Pad: " + std::string(kMaxFormPartHeadBytes, 'p');
  const std::string padded = "------formdata-abc\r\nContent-Disposition: form-data; name=\"model\"" + pad + "\r\n\r\nm\r\n";
  CHECK(read(form({padded}), fields).code == "part_head_too_large");

  CHECK(read(form({part("model", "m"), part("prompt", std::string(kMaxFormFieldBytes, 'w'))}), fields).status == 0);
  CHECK(read(form({part("model", "m"), part("prompt", std::string(kMaxFormFieldBytes + 1, 'w'))}), fields).code ==
        "form_field_too_large");
  // A file is bounded only by the body limit.
  CHECK(read(form({part("model", "m"), part("file", std::string(kMaxFormFieldBytes + 1, 'w'), true)}), fields).status ==
        0);
}

TEST_CASE("a body that is not a form with the Content-Type's boundary is a 400") {
  RequestFields fields;
  const std::string body = form({part("model", "m")});
  CHECK(read(body, fields, "application/json").code == "invalid_content_type");
  CHECK(read(body, fields, "multipart/form-data").code == "invalid_content_type");
  CHECK(read(body, fields, "multipart/form-data; boundary=other").code == "invalid_multipart");
  CHECK(read(R"({"model":"m"})", fields).code == "invalid_multipart");
  CHECK(read(body.substr(0, body.size() - 6), fields).code == "invalid_multipart");  // no close delimiter
}
