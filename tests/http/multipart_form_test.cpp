// multipart/form-data: the boundary from the Content-Type, the parts of a form as
// clients send them, and every bound (parts, head bytes, boundary length).
#include "ringgate/http/multipart_form.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

using namespace ringgate::http;

namespace {

// Parts are views into the body, so the Read keeps its own copy of it on the heap
// (stable across moves): callers may pass a temporary form.
struct Read {
  std::unique_ptr<std::string> body;
  std::vector<FormPart> parts;
  MultipartStatus end = MultipartStatus::Part;
};

Read read_all(std::string_view body, std::string_view boundary, MultipartLimits limits = {}) {
  Read r;
  r.body = std::make_unique<std::string>(body);
  MultipartReader reader(*r.body, boundary, limits);
  FormPart part;
  while ((r.end = reader.next(part)) == MultipartStatus::Part) r.parts.push_back(part);
  return r;
}

// A form as curl -F / the openai clients write it.
std::string form(std::string_view boundary, const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += "--" + std::string(boundary) + "\r\n" + p + "\r\n";
  out += "--" + std::string(boundary) + "--\r\n";
  return out;
}

std::string field(std::string_view name, std::string_view value) {
  return "Content-Disposition: form-data; name=\"" + std::string(name) + "\"\r\n\r\n" + std::string(value);
}

}  // namespace

TEST_CASE("the boundary of a multipart/form-data content type") {
  CHECK(form_data_boundary("multipart/form-data; boundary=abc") == "abc");
  CHECK(form_data_boundary("Multipart/Form-Data;boundary=\"a b:c\"") == "a b:c");
  CHECK(form_data_boundary("multipart/form-data; charset=utf-8; BOUNDARY=----x") == "----x");
  CHECK(form_data_boundary("multipart/form-data").empty());
  CHECK(form_data_boundary("multipart/mixed; boundary=abc").empty());
  CHECK(form_data_boundary("application/json").empty());
  CHECK(form_data_boundary("multipart/form-data; boundary=").empty());
  CHECK(form_data_boundary("multipart/form-data; boundary=\"abc").empty());
  CHECK(form_data_boundary("multipart/form-data; boundary=\"ends in space \"").empty());
  CHECK(form_data_boundary("multipart/form-data; boundary=a\"b").empty());
  CHECK(form_data_boundary("multipart/form-data; boundary=" + std::string(70, 'b')) == std::string(70, 'b'));
  CHECK(form_data_boundary("multipart/form-data; boundary=" + std::string(71, 'b')).empty());
}

TEST_CASE("a form's fields and files, in order, as views into the body") {
  const std::string body =
      form("XyZ", {field("model", "whisper-1"),
                   "Content-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
                   "Content-Type: audio/wav\r\n\r\nRIFF\r\n\r\n--Xy\r\n",
                   field("stream", "true"), field("empty", "")});
  const Read r = read_all(body, "XyZ");
  REQUIRE(r.end == MultipartStatus::End);
  REQUIRE(r.parts.size() == 4);
  CHECK(r.parts[0].name == "model");
  CHECK(r.parts[0].content == "whisper-1");
  CHECK_FALSE(r.parts[0].file);
  CHECK(body.substr(r.parts[0].offset, r.parts[0].content.size()) == "whisper-1");
  CHECK(r.parts[1].name == "file");
  CHECK(r.parts[1].file);
  CHECK(r.parts[1].content == "RIFF\r\n\r\n--Xy\r\n");  // blank lines and near-delimiters are content
  CHECK(r.parts[2].content == "true");
  CHECK(r.parts[3].content.empty());
}

TEST_CASE("a preamble, transport padding and an epilogue are allowed") {
  const std::string body = "preamble text\r\n--b  \t\r\n" + field("model", "m") + "\r\n--b--\r\nepilogue";
  const Read r = read_all(body, "b");
  REQUIRE(r.end == MultipartStatus::End);
  REQUIRE(r.parts.size() == 1);
  CHECK(r.parts[0].content == "m");
}

TEST_CASE("bodies that are not forms are malformed") {
  CHECK(read_all("", "b").end == MultipartStatus::Malformed);
  CHECK(read_all("{\"model\":\"m\"}", "b").end == MultipartStatus::Malformed);
  // No close delimiter: the last part never ends.
  CHECK(read_all("--b\r\n" + field("model", "m"), "b").end == MultipartStatus::Malformed);
  // A delimiter followed by neither CRLF nor "--".
  CHECK(read_all("--bx\r\n" + field("model", "m") + "\r\n--b--", "b").end == MultipartStatus::Malformed);
  // A part with no name, with no Content-Disposition, or with a disposition that is not form-data.
  CHECK(read_all(form("b", {"Content-Disposition: form-data\r\n\r\nx"}), "b").end == MultipartStatus::Malformed);
  CHECK(read_all(form("b", {"Content-Type: text/plain\r\n\r\nx"}), "b").end == MultipartStatus::Malformed);
  CHECK(read_all(form("b", {"Content-Disposition: attachment; name=\"a\"\r\n\r\nx"}), "b").end ==
        MultipartStatus::Malformed);
  CHECK(read_all(form("b", {"\r\nx"}), "b").end == MultipartStatus::Malformed);
  // Two names for one part (two dispositions, or two name parameters): refused, not guessed.
  CHECK(read_all(form("b", {"Content-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; "
                            "name=\"model\"\r\n\r\nx"}),
                 "b")
            .end == MultipartStatus::Malformed);
  CHECK(read_all(form("b", {"Content-Disposition: form-data; name=a; name=model\r\n\r\nx"}), "b").end ==
        MultipartStatus::Malformed);
  // An unterminated quoted name.
  CHECK(read_all(form("b", {"Content-Disposition: form-data; name=\"a\r\n\r\nx"}), "b").end ==
        MultipartStatus::Malformed);
  // A boundary past RFC 2046's 70 bytes is never searched for.
  const std::string long_boundary(71, 'b');
  CHECK(read_all(form(long_boundary, {field("a", "x")}), long_boundary).end == MultipartStatus::Malformed);
}

// Issue 53: a part's head has the field syntax of an HTTP head (RFC 7578 §4.8), and a line
// that begins with a space or a tab (obs-fold) is refused, in the disposition or in any
// other field, so no folded name can differ between the gateway and the model server.
TEST_CASE("a folded line in a part's head (obs-fold) is malformed, in any of its fields") {
  // Every folded line holds a colon past its first byte: only its leading whitespace is wrong.
  const char* heads[] = {
      "Content-Disposition: form-data; name=\"model\"\r\n filename=\"a:b.wav\"\r\n\r\nm",
      "Content-Disposition: form-data; name=\"model\"\r\n\tfilename=\"a:b.wav\"\r\n\r\nm",
      "Content-Disposition: form-data; name=\"model\"\r\nContent-Type: text/plain\r\n x-charset: utf-8\r\n\r\nm",
      "Content-Type: text/plain\r\n\tX-A: 1\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nm",
      " Content-Disposition: form-data; name=\"model\"\r\n\r\nm",  // the head's first line
      "\tContent-Disposition: form-data; name=\"model\"\r\n\r\nm",
  };
  for (const std::string head : heads) {
    CAPTURE(head);
    const Read r = read_all(form("b", {head}), "b");
    CHECK(r.parts.empty());
    CHECK(r.end == MultipartStatus::Malformed);
  }
  // Unfolded, the same fields are a part.
  const Read r = read_all(form("b", {"Content-Disposition: form-data; name=\"model\"\r\nContent-Type: text/plain; "
                                     "charset=utf-8\r\n\r\nm"}),
                          "b");
  REQUIRE(r.parts.size() == 1);
  CHECK(r.parts[0].name == "model");
  CHECK(r.end == MultipartStatus::End);
}

TEST_CASE("names as written: unquoted tokens, and filename* marks a file") {
  const Read r = read_all(form("b", {"content-disposition: FORM-DATA ; name=model\r\n\r\nm",
                                     "Content-Disposition: form-data; filename*=UTF-8''a.wav; name=\"f\"\r\n\r\nx"}),
                          "b");
  REQUIRE(r.end == MultipartStatus::End);
  REQUIRE(r.parts.size() == 2);
  CHECK(r.parts[0].name == "model");
  CHECK(r.parts[1].name == "f");
  CHECK(r.parts[1].file);
}

TEST_CASE("at most max_parts parts") {
  std::vector<std::string> parts;
  for (int i = 0; i < 5; ++i) parts.push_back(field("f", "x"));
  const std::string body = form("b", parts);
  CHECK(read_all(body, "b", {.max_parts = 5}).end == MultipartStatus::End);
  const Read r = read_all(body, "b", {.max_parts = 4});
  CHECK(r.end == MultipartStatus::TooManyParts);
  CHECK(r.parts.size() == 4);
}

TEST_CASE("a part's head is at most max_part_head_bytes") {
  const std::string head = "Content-Disposition: form-data; name=\"a\"\r\nX-Pad: " + std::string(200, 'p');
  const std::string body = form("b", {head + "\r\n\r\nx"});
  CHECK(read_all(body, "b", {.max_part_head_bytes = head.size()}).end == MultipartStatus::End);
  CHECK(read_all(body, "b", {.max_part_head_bytes = head.size() - 1}).end == MultipartStatus::HeadTooLarge);
  // A head that never ends is too large once it passes the bound, however much follows.
  const std::string endless = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n" + std::string(100000, 'h');
  CHECK(read_all(endless, "b").end == MultipartStatus::HeadTooLarge);
}

TEST_CASE("after the end, every call answers the same") {
  const std::string body = form("b", {field("a", "1")});
  MultipartReader reader(body, "b");
  FormPart part;
  REQUIRE(reader.next(part) == MultipartStatus::Part);
  CHECK(reader.next(part) == MultipartStatus::End);
  CHECK(reader.next(part) == MultipartStatus::End);
}

// Issue 72: a part's field value excludes the whitespace around it (RFC 9110 §5.5), as the
// request parser's do: spaces and tabs before and after it are gone, those inside kept, and
// a disposition of whitespace alone is no disposition (malformed).
TEST_CASE("the disposition's value loses its leading and trailing spaces and tabs") {
  const Read r = read_all(form("b", {"Content-Disposition:  \t form-data; name=model \t\r\n\r\nm",
                                     "Content-Disposition:\tform-data; name=\"a \t b\" \t\r\n\r\nx",
                                     "Content-Disposition:form-data;name=c\r\n\r\ny",
                                     "Content-Disposition: form-data; name=\" d \"; filename=\"f.wav\"\t \r\n\r\nz"}),
                          "b");
  REQUIRE(r.end == MultipartStatus::End);
  REQUIRE(r.parts.size() == 4);
  CHECK(r.parts[0].disposition == "form-data; name=model");
  CHECK(r.parts[0].name == "model");
  CHECK(r.parts[1].disposition == "form-data; name=\"a \t b\"");
  CHECK(r.parts[1].name == "a \t b");
  CHECK(r.parts[2].disposition == "form-data;name=c");
  CHECK(r.parts[2].name == "c");
  CHECK(r.parts[3].disposition == "form-data; name=\" d \"; filename=\"f.wav\"");
  CHECK(r.parts[3].name == " d ");  // quoted: the spaces are the name's
  CHECK(r.parts[3].file);
  for (const char* blank : {"Content-Disposition: \t \r\n\r\nx", "Content-Disposition:\r\n\r\nx"}) {
    CAPTURE(blank);
    CHECK(read_all(form("b", {blank}), "b").end == MultipartStatus::Malformed);
  }
}
