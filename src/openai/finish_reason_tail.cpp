#include "ringgate/openai/finish_reason_tail.h"

#include <algorithm>
#include <cstring>

namespace ringgate::openai {

namespace {

bool identifier_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

void FinishReasonTail::feed(std::string_view data) {
  if (data.size() >= kFinishTailBytes) {
    std::memcpy(ring_, data.data() + data.size() - kFinishTailBytes, kFinishTailBytes);
    size_ = kFinishTailBytes;
    end_ = 0;
    return;
  }
  const size_t first = std::min(data.size(), kFinishTailBytes - end_);
  std::memcpy(ring_ + end_, data.data(), first);
  std::memcpy(ring_, data.data() + first, data.size() - first);
  end_ = (end_ + data.size()) % kFinishTailBytes;
  size_ = std::min(kFinishTailBytes, size_ + data.size());
}

size_t FinishReasonTail::reasons(char* out) const {
  // The tail in order.
  char tail[kFinishTailBytes];
  const size_t start = (end_ + kFinishTailBytes - size_) % kFinishTailBytes;
  const size_t first = std::min(size_, kFinishTailBytes - start);
  std::memcpy(tail, ring_ + start, first);
  std::memcpy(tail + first, ring_, size_ - first);
  const std::string_view text(tail, size_);

  // The key without its opening quote: a search led by '"' stops at every string. (find,
  // led by memchr on its first byte, not memmem: glibc's builds a shift table a call.)
  constexpr std::string_view kKey = "finish_reason\"";
  size_t written = 0, found = 0;
  for (size_t at = 0; found < kMaxFinishReasons; ++at) {
    at = text.find(kKey, at);
    if (at == std::string_view::npos) break;
    if (at == 0 || text[at - 1] != '"') continue;
    size_t i = at + kKey.size();
    while (i < text.size() && space(text[i])) ++i;
    if (i == text.size() || text[i] != ':') continue;
    ++i;
    while (i < text.size() && space(text[i])) ++i;
    if (i == text.size() || text[i] != '"') continue;  // null, or not a string
    const size_t begin = ++i;
    while (i < text.size() && i - begin <= kMaxFinishReasonBytes && identifier_byte(text[i])) ++i;
    if (i == text.size() || text[i] != '"' || i == begin || i - begin > kMaxFinishReasonBytes) continue;
    const std::string_view reason = text.substr(begin, i - begin);
    // Distinct: each choice of a stream repeats nothing, but n choices may share a reason.
    bool seen = false;
    for (size_t from = 0; from < written;) {
      size_t comma = std::string_view(out, written).find(',', from);
      if (comma == std::string_view::npos) comma = written;
      if (std::string_view(out + from, comma - from) == reason) seen = true;
      from = comma + 1;
    }
    if (seen) continue;
    if (written) out[written++] = ',';
    std::memcpy(out + written, reason.data(), reason.size());
    written += reason.size();
    ++found;
  }
  return written;
}

}  // namespace ringgate::openai
