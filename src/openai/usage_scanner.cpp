#include "ringgate/openai/usage_scanner.h"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "ringgate/util/json_text.h"

namespace ringgate::openai {
namespace {

constexpr std::string_view kKey = "\"usage\"";

// Where `"usage"` starts in p[at, n), or n. Candidates are the positions holding `"`, `u`
// and, 6 bytes on, `"`: 32 of them are tested at once, and in SSE JSON the three agree
// almost only at the key itself, so memcmp runs about once per event that has it.
size_t find_key(const char* p, size_t n, size_t at) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i u = _mm_set1_epi8('u');
  auto candidates = [&](const char* s) {
    const __m128i a = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)), quote);
    const __m128i b = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 1)), u);
    const __m128i c = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 6)), quote);
    return uint32_t(_mm_movemask_epi8(_mm_and_si128(_mm_and_si128(a, b), c)));
  };
  for (; at + 32 + kKey.size() - 1 <= n; at += 32) {
    uint32_t mask = candidates(p + at) | candidates(p + at + 16) << 16;
    for (; mask != 0; mask &= mask - 1) {
      const size_t pos = at + size_t(__builtin_ctz(mask));
      if (std::memcmp(p + pos, kKey.data(), kKey.size()) == 0) return pos;
    }
  }
#endif
  const size_t pos = std::string_view(p, n).find(kKey, at);
  return pos == std::string_view::npos ? n : pos;
}

}  // namespace

void UsageScanner::feed(std::string_view data) {
  size_t at = 0;
  while (at < data.size()) at = state_ == State::Search ? search(data, at) : read_object(data, at);
  if (!data.empty()) last_byte_ = data.back();
}

void UsageScanner::skip() {
  state_ = State::Search;
  matched_ = 0;
  last_byte_ = 0;
}

// Looks for the key from `at`; returns where reading goes on (after the key, in state
// AfterKey), or the end of the chunk (remembering a key cut there).
size_t UsageScanner::search(std::string_view data, size_t at) {
  const size_t n = data.size();
  if (matched_ > 0) {  // the last chunk ended inside the key
    const size_t want = kKey.size() - matched_;
    const size_t take = std::min(want, n - at);
    const bool same = data.substr(at, take) == kKey.substr(matched_, take);
    if (same && take < want) {
      matched_ = uint8_t(matched_ + take);
      return n;
    }
    matched_ = 0;
    if (same && !quote_escaped_) {
      state_ = State::AfterKey;
      return at + take;
    }
  }
  for (size_t pos = find_key(data.data(), n, at); pos < n; pos = find_key(data.data(), n, pos + 1)) {
    // `\"usage"` is text inside a string (an escaped quote), not a key.
    if ((pos > 0 ? data[pos - 1] : last_byte_) == '\\') continue;
    state_ = State::AfterKey;
    return pos + kKey.size();
  }
  // A key cut at the end: the longest end of the chunk that begins it (it has no other
  // quote than its first and last, so no shorter start could complete instead).
  for (size_t k = std::min(kKey.size() - 1, n - at); k > 0; --k) {
    if (data.substr(n - k) == kKey.substr(0, k)) {
      matched_ = uint8_t(k);
      quote_escaped_ = (n - k > 0 ? data[n - k - 1] : last_byte_) == '\\';
      break;
    }
  }
  return n;
}

void UsageScanner::end_number() {
  if (digits_ <= 18) {
    if (field_ == Field::Prompt) prompt_tokens_ = number_;
    else if (field_ == Field::Completion) completion_tokens_ = number_;
    else if (field_ == Field::Cached) cached_tokens_ = number_;
  }
  digits_ = 0;
  field_ = Field::None;
}

// After the key, one byte at a time: `: {` opens the usage object (anything else, such as
// `null` or a string value that reads "usage", sends the scanner back to searching), and
// the object's keys and numbers are read until it closes.
size_t UsageScanner::read_object(std::string_view data, size_t at) {
  for (; at < data.size(); ++at) {
    const char c = data[at];
    if (state_ == State::AfterKey || state_ == State::AfterColon) {
      if (util::is_json_space(c)) continue;
      if (state_ == State::AfterKey && c == ':') {
        state_ = State::AfterColon;
        continue;
      }
      if (state_ == State::AfterColon && c == '{') {
        state_ = State::Object;
        object_bytes_ = 0;
        depth_ = 1;
        in_string_ = escape_ = expect_value_ = false;
        key_ = field_ = Field::None;
        digits_ = 0;
        continue;
      }
      state_ = State::Search;
      return at;
    }
    if (++object_bytes_ > kMaxUsageObjectBytes) {
      state_ = State::Search;
      return at;
    }
    if (in_string_) {
      if (escape_) {
        escape_ = false;
        key_len_ = UINT8_MAX;  // an escaped key is none of ours
      } else if (c == '\\') {
        escape_ = true;
      } else if (c == '"') {
        in_string_ = false;
        if (string_is_key_) {
          const std::string_view key(key_text_, key_len_ <= sizeof key_text_ ? key_len_ : 0);
          key_ = key == "prompt_tokens"       ? Field::Prompt
                 : key == "completion_tokens" ? Field::Completion
                 : key == "cached_tokens"     ? Field::Cached
                                              : Field::None;
        }
      } else if (key_len_ < sizeof key_text_) {
        key_text_[key_len_++] = c;
      } else {
        key_len_ = UINT8_MAX;
      }
      continue;
    }
    if (digits_ > 0) {
      if (c >= '0' && c <= '9') {
        if (digits_ <= 18) number_ = number_ * 10 + (c - '0');
        if (digits_ < UINT8_MAX) ++digits_;
        continue;
      }
      // A count ends at a separator; `12.5` or `1e3` is not one.
      if (c == ',' || c == '}' || c == ']' || util::is_json_space(c)) end_number();
      digits_ = 0;
      field_ = Field::None;
    }
    switch (c) {
      case '"':
        in_string_ = true;
        string_is_key_ = !expect_value_;
        key_len_ = 0;
        expect_value_ = false;
        field_ = Field::None;
        break;
      case ':':
        expect_value_ = true;
        field_ = key_;
        key_ = Field::None;
        break;
      case '{':
      case '[':
        if (++depth_ > kMaxUsageDepth) {
          state_ = State::Search;
          return at + 1;
        }
        expect_value_ = false;
        field_ = Field::None;
        break;
      case '}':
      case ']':
        if (--depth_ == 0) {
          state_ = State::Search;
          return at + 1;
        }
        expect_value_ = false;
        field_ = Field::None;
        break;
      default:
        if (expect_value_ && c >= '0' && c <= '9') {
          number_ = c - '0';
          digits_ = 1;
        } else if (!util::is_json_space(c)) {
          field_ = Field::None;  // `,`, a literal, a sign: the count, if any, is over
        }
        if (!util::is_json_space(c)) expect_value_ = false;
        break;
    }
  }
  return at;
}

}  // namespace ringgate::openai
