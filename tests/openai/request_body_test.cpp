#include <doctest/doctest.h>

#include "ringgate/openai/media_part.h"

#include <string>

#include "ringgate/openai/form_body.h"
#include "ringgate/openai/request_body.h"

using namespace ringgate::openai;

namespace {

const ApiRoute& kCompletions = *find_route("/v1/completions");
const ApiRoute& kChat = *find_route("/v1/chat/completions");

BodyError read(BodyReader& reader, std::string body, RequestFields& fields, std::string* kept = nullptr,
               const ApiRoute& route = kCompletions) {
  BodyReader::pad(body);
  BodyError error = reader.read(route, {}, body, body.capacity(), fields);
  if (kept) *kept = body;
  return error;
}

BodyError read_at(std::string_view path, std::string body, RequestFields& fields) {
  static BodyReader reader;  // the prompt parts are views into its buffers
  return read(reader, std::move(body), fields, nullptr, *find_route(path));
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
  REQUIRE(reader.read(kCompletions, {}, body, body.capacity(), fields).status == 0);
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
               fields, nullptr, kChat)
              .status == 0);
  // The image part is one unit of the chain: a media record (issue 49), after the text.
  REQUIRE(fields.prompt_parts.size() == 5);
  CHECK(joined(fields).starts_with("system|be brief|user|hi|"));
  MediaKind kind{};
  CHECK(media_record_kind(fields.prompt_parts[4], kind));
  CHECK(kind == MediaKind::Image);
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
  CHECK(read(reader, R"({"model":"m","messages":"hi"})", fields, nullptr, kChat).code == "invalid_messages");
  CHECK(read(reader, R"({"model":"m","stream":null})", fields).status == 0);
}

TEST_CASE("an unpadded buffer is refused, not over-read") {
  BodyReader reader;
  RequestFields fields;
  const std::string body = R"({"model":"m"})";
  CHECK(reader.read(kCompletions, {}, body, body.size(), fields).status == 400);
}

TEST_CASE("each route reads its own text fields (api_routes.h), in body order") {
  RequestFields fields;
  // A field another route reads is not this route's text, nor its error.
  REQUIRE(read_at("/v1/completions", R"({"model":"m","messages":"x","input":"i","prompt":"p"})", fields).status == 0);
  CHECK(joined(fields) == "p|");
  REQUIRE(read_at("/v1/chat/completions", R"({"model":"m","prompt":5,"messages":[{"role":"user","content":"c"}]})",
                  fields)
              .status == 0);
  CHECK(joined(fields) == "user|c|");
  REQUIRE(read_at("/v1/embeddings", R"({"model":"m","input":["a",[1,2],"b"]})", fields).status == 0);
  CHECK(joined(fields) == "a|b|");
  REQUIRE(read_at("/pooling", R"({"model":"m","messages":[{"role":"user","content":"c"}]})", fields).status == 0);
  CHECK(joined(fields) == "user|c|");
  REQUIRE(read_at("/classify", R"({"model":"m","input":"spam?"})", fields).status == 0);
  CHECK(joined(fields) == "spam?|");
  REQUIRE(read_at("/v1/score", R"({"model":"m","text_1":"q","text_2":["d1","d2"]})", fields).status == 0);
  CHECK(joined(fields) == "q|d1|d2|");
  REQUIRE(read_at("/score", R"({"text_2":"b","model":"m","text_1":"a"})", fields).status == 0);
  CHECK(joined(fields) == "b|a|");  // body order: the prefix is what the server is sent
  REQUIRE(read_at("/v1/rerank", R"({"model":"m","query":"q","documents":["d1","d2"],"top_n":1})", fields).status == 0);
  CHECK(joined(fields) == "q|d1|d2|");
  // Loose fields: a value of another shape (a multimodal document) is the server's to judge.
  REQUIRE(read_at("/rerank", R"({"model":"m","query":"q","documents":{"content":[]}})", fields).status == 0);
  CHECK(joined(fields) == "q|");
  REQUIRE(read_at("/v1/responses", R"({"model":"m","input":[{"role":"user","content":"x"}]})", fields).status == 0);
  CHECK(joined(fields).empty());
}

TEST_CASE("load-only routes read the model and stream, no text") {
  RequestFields fields;
  REQUIRE(read_at("/tokenize", R"({"model":"m","prompt":"some text"})", fields).status == 0);
  CHECK(fields.model == "m");
  CHECK(joined(fields).empty());
  REQUIRE(read_at("/detokenize", R"({"model":"m","tokens":[1,2,3]})", fields).status == 0);
  CHECK(joined(fields).empty());
  // Nor do they judge a text field's type: vLLM answers for it.
  CHECK(read_at("/tokenize", R"({"model":"m","prompt":5})", fields).status == 0);
  CHECK(read_at("/detokenize", R"({"tokens":[1]})", fields).code == "missing_model");
}

TEST_CASE("an audio route reads a multipart/form-data body") {
  BodyReader reader;
  RequestFields fields;
  std::string body =
      "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nRIFF....\r\n"
      "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper\r\n--b--\r\n";
  const ApiRoute& audio = *find_route("/v1/audio/transcriptions");
  REQUIRE(reader.read(audio, "multipart/form-data; boundary=b", body, body.size(), fields).status == 0);
  CHECK(fields.model == "whisper");
  CHECK(fields.model_in_form);
  CHECK(body.substr(fields.model_offset, fields.model_length) == "whisper");
  CHECK(reader.read(audio, "application/json", body, body.size(), fields).code == "invalid_content_type");
}
