#include "ringgate/openai/usage_scanner.h"

#include <cstring>

namespace ringgate::openai {
namespace {

constexpr std::string_view kPrompt = "\"prompt_tokens\"";
constexpr std::string_view kCompletion = "\"completion_tokens\"";
constexpr std::string_view kCached = "\"cached_tokens\"";  // usage.prompt_tokens_details

// Reads `: 123` after a key at `pos`; -1 if what follows is not (yet) a number.
int64_t number_after(std::string_view text, size_t pos) {
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == ':')) ++pos;
  int64_t value = 0;
  size_t digits = 0;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && digits < 18) {
    value = value * 10 + (text[pos] - '0');
    ++pos;
    ++digits;
  }
  // A number cut at the end of the chunk is incomplete: the carried tail re-reads it.
  if (digits == 0 || pos == text.size()) return -1;
  return value;
}

}  // namespace

// One pass over the quotes (the three keys start alike): a JSON body has many quotes,
// and a find() per key walked them three times.
void UsageScanner::scan(std::string_view text) {
  const char* const begin = text.data();
  const char* const end = begin + text.size();
  for (const char* q = begin; q + 1 < end;) {
    q = static_cast<const char*>(std::memchr(q, '"', size_t(end - q - 1)));
    if (q == nullptr) break;
    const std::string_view rest(q, size_t(end - q));
    const size_t at = size_t(q - begin);
    if (q[1] == 'p' && rest.starts_with(kPrompt)) {
      if (int64_t v = number_after(text, at + kPrompt.size()); v >= 0) prompt_tokens_ = v;
    } else if (q[1] == 'c' && rest.starts_with(kCompletion)) {
      if (int64_t v = number_after(text, at + kCompletion.size()); v >= 0) completion_tokens_ = v;
    } else if (q[1] == 'c' && rest.starts_with(kCached)) {
      if (int64_t v = number_after(text, at + kCached.size()); v >= 0) cached_tokens_ = v;
    }
    ++q;
  }
}

void UsageScanner::feed(std::string_view data) {
  if (data.empty()) return;
  // Keys split between the carried tail and this chunk: scan the seam.
  if (carry_len_ > 0) {
    char seam[sizeof carry_ * 2];
    size_t take = data.size() < sizeof carry_ ? data.size() : sizeof carry_;
    std::memcpy(seam, carry_, carry_len_);
    std::memcpy(seam + carry_len_, data.data(), take);
    scan(std::string_view(seam, carry_len_ + take));
  }
  scan(data);
  size_t keep = data.size() < sizeof carry_ ? data.size() : sizeof carry_;
  if (keep < sizeof carry_ && carry_len_ > 0) {
    // Short chunk: keep the end of the old tail plus all of it.
    size_t old_keep = carry_len_ + keep > sizeof carry_ ? sizeof carry_ - keep : carry_len_;
    std::memmove(carry_, carry_ + carry_len_ - old_keep, old_keep);
    std::memcpy(carry_ + old_keep, data.data(), keep);
    carry_len_ = old_keep + keep;
  } else {
    std::memcpy(carry_, data.data() + data.size() - keep, keep);
    carry_len_ = keep;
  }
}

}  // namespace ringgate::openai
