// libFuzzer target: the request parser fed in random splits, then the OpenAI body
// reader on every complete request. Nothing may crash, hang or read out of bounds.
// Seeds (tests/http/corpus/fuzz_request) start it on chunked bodies with extensions
// and trailers, pipelining, Expect, a chunk size over the limit and field values with
// spaces and tabs at both ends.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/http/headers.h"
#include "ringgate/http/request_parser.h"
#include "ringgate/openai/request_body.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  ringgate::http::RequestLimits limits;
  limits.max_header_bytes = 4096;
  limits.max_body_bytes = 65536;
  ringgate::http::RequestParser parser(limits);
  static ringgate::openai::BodyReader reader;
  // The first byte picks the split size so that incremental parsing is exercised.
  const size_t step = 1 + data[0] % 64;
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  size_t left = size - 1;
  size_t offset = 0;
  std::string pending;
  while (offset < left) {
    const size_t n = left - offset < step ? left - offset : step;
    pending.append(bytes + offset, n);
    offset += n;
    size_t used = 0;
    while (used < pending.size()) {
      const auto result = parser.feed(pending.data() + used, pending.size() - used);
      used += result.consumed;
      if (result.state == ringgate::http::ParseState::Error) return 0;
      if (result.state == ringgate::http::ParseState::NeedMore) break;
      // Framing invariants: the limits hold, no field name carries whitespace or a colon
      // ("Host : x" is an error, never a header called "host"), no field value starts or
      // ends with a space or a tab (RFC 9110 §5.5), and an HTTP/1.1 request has one Host.
      const ringgate::http::Request& request = parser.request();
      if (request.body.size() > limits.max_body_bytes || request.headers.size() > 100) __builtin_trap();
      size_t hosts = 0;
      for (const auto& header : request.headers) {
        if (header.name.find_first_of(" \t:") != std::string::npos) __builtin_trap();
        if (ringgate::http::trim_field_value(std::string_view(header.value)).size() != header.value.size())
          __builtin_trap();
        hosts += header.name == "host";
      }
      if (hosts > 1 || (hosts == 0 && request.version_minor >= 1)) __builtin_trap();
      ringgate::http::BodyBuffer& body = parser.request().body;
      ringgate::openai::BodyReader::pad(body);
      ringgate::openai::RequestFields fields;
      reader.read(ringgate::openai::route_for(request.target), request.header("content-type"), body, body.capacity(),
                  fields);
      if (fields.model_length) {
        // The model token must lie inside the body: a quoted string (JSON), or the form
        // field's bare value (multipart).
        if (fields.model_offset + fields.model_length > body.size()) __builtin_trap();
        const std::string_view token(body.data() + fields.model_offset, fields.model_length);
        if (fields.model_in_form ? token != fields.model : token.front() != '"') __builtin_trap();
      }
      parser.next();
    }
    pending.erase(0, used);
  }
  return 0;
}
