// libFuzzer target: a multipart/form-data body and its Content-Type are hostile input.
// The input is a Content-Type line, "\n", then the body. Whatever the bytes, the reader
// must stay inside the body, hand out parts in order that do not overlap, stop within
// its bounds, hand over a disposition without whitespace at its ends, and a model
// read_form_body accepts must be the body's own bytes at the place it names (a rewrite
// splices there).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ringgate/http/headers.h"
#include "ringgate/http/multipart_form.h"
#include "ringgate/openai/form_body.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringgate;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  const std::string_view content_type = input.substr(0, newline);
  const std::string_view body = input.substr(newline + 1);

  const std::string_view boundary = http::form_data_boundary(content_type);
  if (!boundary.empty()) {
    if (boundary.size() > http::kMaxBoundaryBytes || content_type.find(boundary) == std::string_view::npos)
      __builtin_trap();
    const http::MultipartLimits limits{.max_parts = 8, .max_part_head_bytes = 256};
    http::MultipartReader reader(body, boundary, limits);
    http::FormPart part;
    size_t parts = 0, end = 0;
    http::MultipartStatus status;
    while ((status = reader.next(part)) == http::MultipartStatus::Part) {
      if (++parts > limits.max_parts) __builtin_trap();
      if (part.offset < end || part.offset + part.content.size() > body.size() ||
          part.content.data() != body.data() + part.offset)
        __builtin_trap();
      end = part.offset + part.content.size();
      // The disposition's value has no space or tab at either end (RFC 9110 §5.5), and is
      // the body's own bytes.
      const std::string_view disposition = part.disposition;
      if (http::trim_field_value(disposition).size() != disposition.size() || disposition.data() < body.data() ||
          disposition.data() + disposition.size() > body.data() + body.size())
        __builtin_trap();
    }
    if (reader.next(part) != status) __builtin_trap();  // the end is sticky
  }

  openai::RequestFields fields;
  if (openai::read_form_body(content_type, body, fields).status == 0) {
    if (!fields.model_in_form || fields.model.empty() || fields.model.size() > openai::kMaxModelBytes ||
        fields.model_offset + fields.model_length > body.size() ||
        body.substr(fields.model_offset, fields.model_length) != fields.model)
      __builtin_trap();
  }
  return 0;
}
