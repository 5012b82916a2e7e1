#include "ringgate/sim/tokenizer.h"

#include <algorithm>

namespace ringgate::sim {

uint32_t count_tokens(std::string_view text) {
  return static_cast<uint32_t>((text.size() + kBytesPerToken - 1) / kBytesPerToken);
}

std::vector<uint32_t> token_ids(std::string_view text) {
  std::vector<uint32_t> ids;
  ids.reserve(count_tokens(text));
  for (size_t off = 0; off < text.size(); off += kBytesPerToken) {
    uint32_t id = 0;
    for (size_t i = 0; i < kBytesPerToken && off + i < text.size(); ++i)
      id |= uint32_t(static_cast<unsigned char>(text[off + i])) << (8 * i);
    ids.push_back(id);
  }
  return ids;
}

void append_token_text(std::string& out, uint32_t id) {
  for (size_t i = 0; i < kBytesPerToken; ++i) {
    char c = static_cast<char>((id >> (8 * i)) & 0xFF);
    if (c != 0) out += c;
  }
}

namespace {
bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }
}  // namespace

std::vector<std::string_view> split_tokens(std::string_view text, uint32_t max_tokens) {
  std::vector<std::string_view> tokens;
  size_t pos = 0;
  while (pos < text.size() && tokens.size() < max_tokens) {
    size_t end = std::min(text.size(), pos + kBytesPerToken);
    while (end < text.size() && is_continuation_byte(text[end])) ++end;
    tokens.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return tokens;
}

}  // namespace ringgate::sim
