// The incremental body scanner against BodyReader (simdjson), on every split of
// each body: when the scanner says it understood a body, its model, model token,
// stream flag and prompt text are BodyReader's; when it gives up, BodyReader decides.
#include "ringgate/openai/body_scanner.h"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "ringgate/openai/request_body.h"

using namespace ringgate::openai;

namespace {

// The joined prompt stream as the prefix hasher sees it: each part, then 0xFF.
struct JoinSink final : TextSink {
  std::string joined;
  void text(const char* data, size_t n) override { joined.append(data, n); }
  void part_end() override { joined.push_back(char(0xFF)); }
};

struct Scan {
  RequestFields fields;
  std::string joined;
};

// Every field that carries text, as no one route reads them: each body below is read
// with the same fields by both readers.
constexpr TextFields kEveryTextField =
    kPromptField | kMessagesField | kInputField | kText1Field | kText2Field | kQueryField | kDocumentsField;

// A route that reads `fields`.
ApiRoute route_reading(TextFields fields) {
  return {"", kMethodPost, "POST", RouteHandler::Proxy, BodyFormat::Json, fields, Routing::PrefixAndLoad};
}

// Feeds `body` cut at `cuts` (sorted offsets).
std::optional<Scan> scan(std::string_view body, const std::vector<size_t>& cuts, TextFields fields = kEveryTextField) {
  BodyScanner scanner;
  JoinSink sink;
  scanner.reset(&sink, fields);
  size_t at = 0;
  for (size_t cut : cuts) {
    scanner.feed(body.data() + at, cut - at);
    at = cut;
  }
  scanner.feed(body.data() + at, body.size() - at);
  Scan s;
  if (!scanner.finish(s.fields)) return std::nullopt;
  s.joined = std::move(sink.joined);
  return s;
}

std::optional<Scan> reference(std::string_view body, TextFields fields = kEveryTextField) {
  static BodyReader reader;
  std::string copy(body);
  BodyReader::pad(copy);
  Scan s;
  if (reader.read(route_reading(fields), {}, copy, copy.capacity(), s.fields).status != 0) return std::nullopt;
  for (std::string_view part : s.fields.prompt_parts) {
    s.joined.append(part);
    s.joined.push_back(char(0xFF));
  }
  return s;
}

// The scanner accepts `body` whole, at every single cut and in 1-byte pieces, with BodyReader's answer.
void check_understood(std::string_view body, TextFields fields = kEveryTextField) {
  CAPTURE(body);
  CAPTURE(fields);
  const std::optional<Scan> expected = reference(body, fields);
  REQUIRE(expected.has_value());
  std::vector<std::vector<size_t>> splits{{}};
  for (size_t cut = 0; cut <= body.size(); ++cut) splits.push_back({cut});
  std::vector<size_t> bytes;
  for (size_t cut = 1; cut < body.size(); ++cut) bytes.push_back(cut);
  splits.push_back(bytes);
  for (const auto& cuts : splits) {
    const std::optional<Scan> got = scan(body, cuts, fields);
    CAPTURE(cuts.size() == 1 ? cuts[0] : cuts.size());
    REQUIRE(got.has_value());
    CHECK(got->fields.model == expected->fields.model);
    CHECK(got->fields.model_offset == expected->fields.model_offset);
    CHECK(got->fields.model_length == expected->fields.model_length);
    CHECK(got->fields.stream == expected->fields.stream);
    CHECK(got->joined == expected->joined);
    CHECK(got->fields.media == expected->fields.media);
  }
}

// The scanner gives up on `body` however it is cut.
void check_gives_up(std::string_view body) {
  CAPTURE(body);
  CHECK_FALSE(scan(body, {}).has_value());
  for (size_t cut = 0; cut <= body.size(); ++cut) CHECK_FALSE(scan(body, {cut}).has_value());
}

}  // namespace

TEST_CASE("body scanner: chat and completion bodies, every split, BodyReader's fields and text") {
  check_understood(R"({"model":"facebook/opt-125m","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Hi there"}],"max_tokens":1})");
  check_understood(R"({"messages":[{"role":"user","content":"model comes last"}],"stream":true,"model":"m"})");
  check_understood(R"({"model":"m","prompt":"Say hello to the benchmark","max_tokens":1,"temperature":0})");
  check_understood(R"({"model":"m","prompt":["a","bc",[1,2,3],7,null,"d"],"stream":false})");
  check_understood(R"({"model":"m","input":"embed me"})");
  check_understood(R"({"model":"m","input":[{"role":"user","content":"x"},"y",3]})");
  check_understood(R"({"model":"m","input":42})");
  check_understood(R"({"model":"m","stream":null,"prompt":"p"})");
  check_understood(" \t\r\n{ \"model\" : \"m\" , \"messages\" : [ { \"role\" : \"user\" , \"content\" : null } ] } \n");
  check_understood(R"({"model":"m","messages":[{"content":"no role"},{"role":"assistant"},{"role":"user","name":"x","content":[{"type":"text","text":"part one"},{"type":"image_url","image_url":{"url":"data:,"}},{"text":"part two","type":"text"}]}]})");
  check_understood(R"({"model":"m","messages":[],"prompt":[]})");
  check_understood(R"({"model":"m","n":[-0,0.5,-12.25e+3,1E-2,10,{"a":[true,false,null,{}]},[],"s"]})");
}

TEST_CASE("body scanner: each route's text fields, as BodyReader reads them for that route") {
  const std::string body =
      R"({"model":"m","prompt":"p","messages":[{"role":"user","content":"c"}],"input":["i",1],"text_1":"t1",)"
      R"("text_2":["t2"],"query":"q","documents":["d",{"content":[]}],"tokens":[1,2],"stream":true})";
  for (const ApiRoute& route : api_routes()) {
    if (route.body != BodyFormat::Json) continue;
    CAPTURE(route.path);
    check_understood(body, route.routed_text());
  }
  // A field the route does not read may be anything, even twice.
  check_understood(R"({"model":"m","prompt":5,"prompt":{},"query":"q"})", kQueryField);
  CHECK(scan(R"({"model":"m","query":"a","query":"b"})", {}, kQueryField) == std::nullopt);  // read twice: BodyReader decides
  // The text of a route's fields, in body order.
  const auto rerank = scan(R"({"documents":["d1","d2"],"model":"m","query":"q","prompt":"not read"})", {},
                           find_route("/v1/rerank")->routed_text());
  REQUIRE(rerank.has_value());
  CHECK(rerank->joined == "d1\xFF" "d2\xFF" "q\xFF");
  // A load-only route reads no text at all.
  const auto tokenize = scan(R"({"model":"m","prompt":"some text"})", {}, find_route("/tokenize")->routed_text());
  REQUIRE(tokenize.has_value());
  CHECK(tokenize->joined.empty());
}

TEST_CASE("body scanner: escapes and UTF-8 are decoded as simdjson decodes them") {
  check_understood(R"({"model":"m","prompt":"line\nbreak \"quoted\" back\\slash \/ \b\f\r\t tab"})");
  check_understood(R"({"model":"m","prompt":"\u00e9\u4e2d\ud83d\ude00\u0041 \u0000 nul"})");
  check_understood("{\"model\":\"m\",\"prompt\":\"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"}");
  check_understood(R"({"model":"caf\u00e9\/x","prompt":"p"})");  // an escaped model: the token spans the escapes
  check_understood(R"({"model":"m","prompt":"\ud800\udc00"})");
}

TEST_CASE("body scanner: long prompts cut into receive-sized pieces") {
  std::string text;
  for (int i = 0; text.size() < 200000; ++i) text += "token " + std::to_string(i) + (i % 50 == 0 ? "\\n" : " ");
  const std::string body = R"({"model":"facebook/opt-125m","messages":[{"role":"system","content":")" + text +
                           R"("},{"role":"user","content":"Summarise."}],"max_tokens":1})";
  const auto expected = reference(body);
  REQUIRE(expected.has_value());
  for (size_t piece : {1u, 7u, 1000u, 16384u, 65536u}) {
    std::vector<size_t> cuts;
    for (size_t at = piece; at < body.size(); at += piece) cuts.push_back(at);
    const auto got = scan(body, cuts);
    REQUIRE(got.has_value());
    CHECK(got->joined == expected->joined);
    CHECK(got->fields.model_offset == expected->fields.model_offset);
  }
}

TEST_CASE("body scanner: escapes met within a piece are decoded there, whatever lies between them") {
  // Dense escapes (more than the 4 KiB gathered at once), runs longer than half of it
  // between two escapes, escapes on both sides of a run, non-ASCII text in between.
  std::string text;
  for (int i = 0; i < 3000; ++i) text += i % 3 ? "\\n" : "\\\"";
  text += std::string(3000, 'a') + "\\t" + std::string(2100, 'b') + "\\/" + "\\r";
  for (int i = 0; i < 400; ++i) text += "caf\xc3\xa9 \\\\ " + std::string(size_t(i) % 97, 'x') + "\\b\\f";
  const std::string body = R"({"model":"m","prompt":")" + text + R"(","messages":[{"role":"user","content":"\n)" +
                           text.substr(0, 9000) + R"(\n"}]})";
  const auto expected = reference(body);
  REQUIRE(expected.has_value());
  for (size_t piece : {1u, 2u, 3u, 1000u, 4096u, 65536u, 1u << 20}) {
    std::vector<size_t> cuts;
    for (size_t at = piece; at < body.size(); at += piece) cuts.push_back(at);
    const auto got = scan(body, cuts);
    REQUIRE(got.has_value());
    CHECK(got->joined == expected->joined);
  }
}

TEST_CASE("body scanner: gives up on what BodyReader must decide") {
  for (const char* body : {
           "",
           "   ",
           "[]",
           "\"model\"",
           R"({"model":"m")",                                   // unterminated
           "{\"model\":\"a\x7f\\/b\"}",  // a control byte, then an escape in the same run (fuzz_body_scanner)
           R"({"model":"m"} x)",                                // trailing bytes
           R"({"model":"m"}{})",
           R"({"model":"m",})",                                 // trailing comma
           R"({"model":"m","prompt":["a",]})",
           R"({"model":"m" "prompt":"p"})",
           R"({"model":"m","prompt":"p"]})",                    // mismatched close
           R"({"prompt":"p"})",                                 // no model
           R"({"model":""})",                                   // empty model
           R"({"model":7})",
           R"({"model":"m","model":"n"})",                      // duplicate routing fields
           R"({"model":"m","prompt":"a","prompt":"b"})",
           R"({"model":"m","stream":"yes"})",
           R"({"model":"m","stream":1})",
           R"({"model":"m","prompt":5})",
           R"({"model":"m","messages":{}})",
           R"({"model":"m","messages":["x"]})",
           R"({"model":"m","messages":[{"role":5}]})",
           R"({"model":"m","messages":[{"content":"c","role":"user"}]})",  // role after content
           R"({"model":"m","messages":[{"role":"a","role":"b"}]})",
           R"({"model":"m","messages":[{"role":"u","content":5}]})",
           R"({"model":"m","messages":[{"role":"u","content":["x"]}]})",
           R"({"model":"m","messages":[{"role":"u","content":[{"text":5}]}]})",
           R"({"mod\u0065l":"m"})",                             // escaped key
           R"({"model":"m\u0001"})",                            // control byte in the model
           R"({"model":"m","prompt":"\ud800"})",                // lone surrogates
           R"({"model":"m","prompt":"\ud800\u0041"})",
           R"({"model":"m","prompt":"\udc00"})",
           R"({"model":"m","prompt":"\x"})",
           R"({"model":"m","prompt":"\u12g4"})",
           "{\"model\":\"m\",\"prompt\":\"raw\ncontrol\"}",
           "{\"model\":\"m\",\"prompt\":\"\xc0\xaf\"}",         // overlong
           "{\"model\":\"m\",\"prompt\":\"\xed\xa0\x80\"}",     // UTF-8 surrogate
           "{\"model\":\"m\",\"prompt\":\"\xf4\x90\x80\x80\"}", // past U+10FFFF
           "{\"model\":\"m\",\"prompt\":\"\xe4\xb8\"}",         // cut sequence
           "{\"model\":\"m\",\"prompt\":\"\x80\"}",
           "{\"model\":\"m\",\"x\":\xc3\xa9}",
           R"({"model":"m","x":01})",
           R"({"model":"m","x":-})",
           R"({"model":"m","x":1.})",
           R"({"model":"m","x":1e})",
           R"({"model":"m","x":+1})",
           R"({"model":"m","x":tru})",
           R"({"model":"m","x":nul,"y":1})",
           R"({"model":"m","x":True})",
       }) {
    check_gives_up(body);
  }
  // Models past the bound.
  check_gives_up(R"({"model":")" + std::string(kMaxModelBytes + 1, 'a') + R"("})");
  check_understood(R"({"model":")" + std::string(kMaxModelBytes, 'a') + R"("})");
  // Nesting past kMaxScanDepth.
  std::string deep = R"({"model":"m","x":)";
  for (size_t i = 0; i < kMaxScanDepth; ++i) deep += '[';
  for (size_t i = 0; i < kMaxScanDepth; ++i) deep += ']';
  check_gives_up(deep + "}");
}

// A chat of `parts` (JSON content parts) after a system message.
std::string chat_with(std::string_view parts) {
  return std::string(R"({"model":"m","messages":[{"role":"system","content":"Look."},{"role":"user","content":[)") +
         std::string(parts) + "]}]}";
}

// The media records the joined stream holds, in order (each its 16 bytes).
std::vector<std::string> records_in(std::string_view joined) {
  std::vector<std::string> out;
  for (size_t at = 0; (at = joined.find(char(kMediaRecordMark), at)) != std::string_view::npos; at += kMediaRecordBytes)
    out.emplace_back(joined.substr(at, kMediaRecordBytes));
  return out;
}

TEST_CASE("body scanner: media parts give BodyReader's chain and counts, every split") {
  const std::string png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
  check_understood(chat_with(R"({"type":"text","text":"What is it?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,)" + png + R"(","detail":"low"}})"));
  // type after the media, the url a bare string, escaped slashes, an audio part.
  check_understood(chat_with(R"({"image_url":{"detail":"auto","url":"data:image\/png;base64,iVBO\/Rw=="},"type":"image_url"},{"type":"input_audio","input_audio":{"format":"wav","data":"UklGRg=="}})"));
  check_understood(chat_with(R"({"type":"image_url","image_url":"https://example.com/cat.png"},{"text":"and?","type":"text"})"));
  // Passed on unhashed and counted: broken base64, no url, a url not a string, unknown types.
  check_understood(chat_with(R"({"type":"image_url","image_url":{"url":"data:image/png;base64,@@@@"}},{"type":"image_url","image_url":{}},{"type":"image_url","image_url":{"url":7}},{"type":"input_audio","input_audio":"UklGRg=="},{"type":"video_url","video_url":{"url":"https://v"}},{"type":"a very long part type name","text":"t"},{"type":7})"));
  // Two values of a kind: the last counts; a part holding both kinds, its type says which.
  check_understood(chat_with(R"({"type":"image_url","image_url":{"url":"data:,a"},"image_url":{"url":"data:,b"},"input_audio":{"data":"AAAA"}})"));
  check_understood(chat_with(R"({"type":"input_audio","image_url":{"url":"data:,a"},"input_audio":{"data":"AAAA","data":"AAAB"}})"));
}

TEST_CASE("body scanner: a media part is one record keyed by its decoded bytes") {
  auto joined_of = [](const std::string& body) {
    const auto s = scan(body, {body.size() / 3});
    REQUIRE(s.has_value());
    return s->joined;
  };
  const std::string a = joined_of(chat_with(R"({"type":"image_url","image_url":{"url":"data:image/png;base64,AAECAwQF"}})"));
  // The same bytes written another way (URL-safe alphabet is the same here; JSON escapes; no padding needed).
  const std::string same = joined_of(chat_with(R"({"image_url":{"url":"data:image\/png;base64,\u0041AECAwQF"},"type":"image_url"})"));
  const std::string other = joined_of(chat_with(R"({"type":"image_url","image_url":{"url":"data:image/png;base64,AAECAwQG"}})"));
  const std::string as_audio = joined_of(chat_with(R"({"type":"input_audio","input_audio":{"data":"AAECAwQF"}})"));
  REQUIRE(records_in(a).size() == 1);
  CHECK(records_in(a) == records_in(same));
  CHECK(a == same);
  CHECK(records_in(other).size() == 1);
  CHECK(records_in(a) != records_in(other));
  CHECK(records_in(as_audio) != records_in(a));
  // The text around it is the text it was: the record is a part of its own.
  CHECK(a.substr(0, a.find(char(kMediaRecordMark))) == std::string("system\xFFLook.\xFFuser\xFF"));
}

TEST_CASE("body scanner: a 20 MB data URI is hashed as it streams, in receive-sized pieces") {
  std::string data(20u << 20, 'A');  // 15 MiB of zero bytes in base64
  const std::string body = chat_with(R"({"type":"image_url","image_url":{"url":"data:image/png;base64,)" + data + R"("}})");
  std::vector<size_t> cuts;
  for (size_t at = 16384; at < body.size(); at += 16384) cuts.push_back(at);
  const auto got = scan(body, cuts);
  REQUIRE(got.has_value());
  CHECK(got->fields.media.parts[size_t(MediaOutcome::Image)] == 1);
  // The stream holds the record, not the 20 MB.
  CHECK(got->joined.size() < 64);
  const auto expected = reference(body);
  REQUIRE(expected.has_value());
  CHECK(got->joined == expected->joined);
}

TEST_CASE("body scanner: whatever it accepts among mutated bodies, BodyReader accepts alike") {
  const std::string seed =
      R"({"model":"m\u00e9","stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"a\"b"}]},{"role":"x","content":"y"}],"n":[1,-2.5e3,null]})";
  const std::string alphabet = "{}[]\":,\\ u0e-.tnfa1";
  size_t accepted = 0;
  for (size_t i = 0; i < seed.size(); ++i) {
    for (char c : alphabet) {
      for (int mode = 0; mode < 3; ++mode) {
        std::string body = seed;
        if (mode == 0) body[i] = c;
        else if (mode == 1) body.insert(body.begin() + std::ptrdiff_t(i), c);
        else if (c == alphabet[0]) body.erase(i, 1);
        else continue;
        const auto got = scan(body, {body.size() / 2});
        if (!got) continue;
        ++accepted;
        const auto expected = reference(body);
        CAPTURE(body);
        REQUIRE(expected.has_value());
        CHECK(got->fields.model == expected->fields.model);
        CHECK(got->fields.model_offset == expected->fields.model_offset);
        CHECK(got->fields.model_length == expected->fields.model_length);
        CHECK(got->fields.stream == expected->fields.stream);
        CHECK(got->joined == expected->joined);
      }
    }
  }
  CHECK(accepted > 100);  // the oracle saw real work
}

TEST_CASE("body scanner: a byte that ends the plain run is found at any offset within the vector width") {
  // The plain-text search runs 32 or 16 bytes at a time; what stops it may sit at any
  // place in a vector or in the bytes left after the last whole one.
  for (size_t n = 0; n <= 80; ++n) {
    const std::string run(n, 'a');
    check_understood(R"({"model":"m","prompt":")" + run + R"("})");
    check_understood(R"({"model":"m","prompt":")" + run + R"(\n)" + run + R"("})");
    check_understood("{\"model\":\"m\",\"prompt\":\"" + run + "\xc3\xa9" + run + "\"}");
    check_gives_up("{\"model\":\"m\",\"prompt\":\"" + run + "\x01" + run + "\"}");
  }
}
