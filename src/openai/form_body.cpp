#include "ringgate/openai/form_body.h"

#include <strings.h>

#include <algorithm>

#include "ringgate/http/multipart_form.h"

namespace ringgate::openai {

namespace {

constexpr BodyError kNotForm{400, "invalid_content_type",
                             "this path takes a multipart/form-data body with a boundary parameter"};
constexpr BodyError kMalformed{400, "invalid_multipart", "the multipart/form-data body is malformed"};
constexpr BodyError kTooManyParts{400, "too_many_parts", "the form has more than 64 parts"};
constexpr BodyError kHeadTooLarge{400, "part_head_too_large", "a form part's headers are longer than 4096 bytes"};
constexpr BodyError kFieldTooLarge{400, "form_field_too_large", "a form field is longer than 65536 bytes"};
static_assert(kMaxFormParts == 64 && kMaxFormPartHeadBytes == 4096 && kMaxFormFieldBytes == 65536,
              "the messages state the bounds");
constexpr BodyError kBadModel{400, "invalid_model", "the \"model\" form field must be a field, not a file"};
constexpr BodyError kDuplicateModel{400, "invalid_model", "the form has more than one \"model\" field"};
constexpr BodyError kMissingModel{400, "missing_model", "\"model\" is required"};
constexpr BodyError kEmptyModel{400, "invalid_model", "\"model\" must not be empty"};
constexpr BodyError kLongModel{400, "invalid_model", "\"model\" is longer than 256 bytes"};
constexpr BodyError kControlModel{400, "invalid_model", "\"model\" must not contain control characters"};
static_assert(kMaxModelBytes == 256, "kLongModel's message states the cap");

// A form boolean as pydantic reads one (FastAPI's Form fields).
bool form_true(std::string_view value) {
  for (std::string_view yes : {"1", "on", "t", "true", "y", "yes"})
    if (value.size() == yes.size() && strncasecmp(value.data(), yes.data(), value.size()) == 0) return true;
  return false;
}

}  // namespace

BodyError read_form_body(std::string_view content_type, std::string_view body, RequestFields& out) {
  out = RequestFields{};
  const std::string_view boundary = http::form_data_boundary(content_type);
  if (boundary.empty()) return kNotForm;
  http::MultipartReader reader(body, boundary, {.max_parts = kMaxFormParts, .max_part_head_bytes = kMaxFormPartHeadBytes});
  bool has_model = false;
  http::FormPart part;
  for (;;) {
    switch (reader.next(part)) {
      case http::MultipartStatus::Part: break;
      case http::MultipartStatus::End:
        if (!has_model) return kMissingModel;
        return {};
      case http::MultipartStatus::Malformed: return kMalformed;
      case http::MultipartStatus::TooManyParts: return kTooManyParts;
      case http::MultipartStatus::HeadTooLarge: return kHeadTooLarge;
    }
    if (!part.file && part.content.size() > kMaxFormFieldBytes) return kFieldTooLarge;
    if (part.name == "model") {
      if (part.file) return kBadModel;
      if (has_model) return kDuplicateModel;
      has_model = true;
      // As BodyReader bounds a JSON model: a metrics label and a stats key.
      if (part.content.empty()) return kEmptyModel;
      if (part.content.size() > kMaxModelBytes) return kLongModel;
      if (std::any_of(part.content.begin(), part.content.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
        return kControlModel;
      out.model.assign(part.content);
      out.model_offset = part.offset;
      out.model_length = part.content.size();
      out.model_in_form = true;
    } else if (part.name == "stream" && !part.file) {
      out.stream = form_true(part.content);
    }
  }
}

}  // namespace ringgate::openai
