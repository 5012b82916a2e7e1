// libFuzzer target: the scanner that counts a relayed stream's events and reads its usage
// from its last data event. Two inputs from one:
//  - the bytes as they are, fed in random splits: the events counted are those of the
//    whole body fed at once, and the counts are "not seen" (-1) or at most 18 digits;
//  - a vLLM-shaped stream built from them (each 0xFF-separated piece a token's text,
//    JSON-escaped, in an event of its own with "usage":null, then a usage event and
//    [DONE]), fed in the same splits: its usage is read exactly, whatever the text holds.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/openai/event_stream_scanner.h"

namespace {

using ringgate::openai::EventStreamScanner;

void feed_split(EventStreamScanner& s, std::string_view body, size_t step) {
  for (size_t at = 0; at < body.size(); at += step) s.feed(body.substr(at, step));
}

std::string json_escaped(std::string_view text) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += char(c);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = 1 + data[0] % 97;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  EventStreamScanner split, whole;
  feed_split(split, body, step);
  whole.feed(body);
  if (split.events() != whole.events()) __builtin_trap();
  for (int64_t v : {split.usage().prompt_tokens(), split.usage().completion_tokens(), split.usage().cached_tokens()})
    if (v < -1 || v >= 1000000000000000000) __builtin_trap();

  std::string stream;
  int64_t tokens = 0;
  for (size_t at = 0; at <= body.size();) {
    size_t end = body.find('\xff', at);
    if (end == std::string_view::npos) end = body.size();
    stream += "data: {\"choices\":[{\"index\":0,\"text\":\"" + json_escaped(body.substr(at, end - at)) +
              "\"}],\"usage\":null}\n\n";
    ++tokens;
    at = end + 1;
  }
  const int64_t prompt = int64_t(body.size()) * 7 + 1;
  stream += "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":" + std::to_string(prompt) +
            ",\"completion_tokens\":" + std::to_string(tokens) + ",\"prompt_tokens_details\":{\"cached_tokens\":3}}}\n\n";
  stream += "data: [DONE]\n\n";
  EventStreamScanner vllm;
  feed_split(vllm, stream, step * 13);
  if (vllm.usage().prompt_tokens() != prompt || vllm.usage().completion_tokens() != tokens ||
      vllm.usage().cached_tokens() != 3 || vllm.events() != uint32_t(tokens + 2))
    __builtin_trap();
  return 0;
}
