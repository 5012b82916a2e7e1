// libFuzzer target: a request body is hostile input. The incremental body scanner
// must take any bytes, cut anywhere, without reading past them; it must give the
// same answer however the body is cut; and whatever it accepts, BodyReader
// (simdjson) must accept with the same model, model token, stream flag and prompt
// text (the scanner may give up on more, never accept differently). The input's first
// byte picks the piece size, its second the text fields read (any set of them).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/openai/body_scanner.h"
#include "ringgate/openai/request_body.h"

namespace {

struct JoinSink final : ringgate::openai::TextSink {
  std::string joined;
  void text(const char* data, size_t n) override { joined.append(data, n); }
  void part_end() override { joined.push_back(char(0xFF)); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringgate::openai;
  if (size < 2) return 0;
  const size_t cut = data[0];
  const TextFields text_fields = data[1];
  const ApiRoute route{"", kMethodPost, "POST", RouteHandler::Proxy, BodyFormat::Json, text_fields, Routing::PrefixAndLoad};
  const std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);

  BodyScanner whole;
  JoinSink whole_sink;
  whole.reset(&whole_sink, text_fields);
  whole.feed(body.data(), body.size());
  RequestFields whole_fields;
  const bool whole_ok = whole.finish(whole_fields);

  // Each piece in a buffer of its own, so reading past a piece is an ASan error.
  BodyScanner split;
  JoinSink split_sink;
  split.reset(&split_sink, text_fields);
  for (size_t at = 0; at < body.size();) {
    const size_t n = std::min(body.size() - at, cut == 0 ? size_t(1) : cut);
    std::string piece(body.substr(at, n));
    split.feed(piece.data(), piece.size());
    at += n;
  }
  RequestFields split_fields;
  const bool split_ok = split.finish(split_fields);
  if (whole_ok != split_ok) __builtin_trap();
  if (!whole_ok) return 0;
  if (whole_sink.joined != split_sink.joined || whole_fields.model != split_fields.model ||
      whole_fields.model_offset != split_fields.model_offset || whole_fields.stream != split_fields.stream ||
      !(whole_fields.media == split_fields.media))
    __builtin_trap();

  static BodyReader reader;
  std::string padded(body);
  BodyReader::pad(padded);
  RequestFields fields;
  if (reader.read(route, {}, padded, padded.capacity(), fields).status != 0) __builtin_trap();
  std::string joined;
  for (std::string_view part : fields.prompt_parts) {
    joined.append(part);
    joined.push_back(char(0xFF));
  }
  if (joined != whole_sink.joined || fields.model != whole_fields.model ||
      fields.model_offset != whole_fields.model_offset || fields.model_length != whole_fields.model_length ||
      fields.stream != whole_fields.stream || !(fields.media == whole_fields.media))
    __builtin_trap();
  return 0;
}
