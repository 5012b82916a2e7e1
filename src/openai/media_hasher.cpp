#include "ringgate/openai/media_hasher.h"

#include <algorithm>
#include <array>
#include <cstring>

#if defined(__SSSE3__) && defined(__SSE4_1__)
#include <immintrin.h>
#endif

namespace ringgate::openai {
namespace {

constexpr std::string_view kDataScheme = "data:";

// A base64 byte's sextet (the standard alphabet and the URL-safe one), or -1.
constexpr std::array<int8_t, 256> kSextet = [] {
  std::array<int8_t, 256> t{};
  t.fill(-1);
  for (int i = 0; i < 26; ++i) {
    t['A' + i] = int8_t(i);
    t['a' + i] = int8_t(26 + i);
  }
  for (int i = 0; i < 10; ++i) t['0' + i] = int8_t(52 + i);
  t['+'] = t['-'] = 62;
  t['/'] = t['_'] = 63;
  return t;
}();

#if defined(__SSSE3__) && defined(__SSE4_1__)
// Standard-alphabet base64 16 characters at a time into 12 bytes (W. Muła's and
// A. Klomp's SSSE3 decoder): a character's nibbles index two tables whose AND is zero
// only for A-Z a-z 0-9 + /, a third table gives the offset to its sextet, and two
// multiply-adds pack four sextets into three bytes. Stops before the first 16 holding
// anything else ('=', the URL-safe alphabet, a stray byte), which the bytewise loop
// then reads. Returns the characters read; `out` gets 3/4 as many bytes (it must have
// room for 4 more, the last store's tail).
size_t decode_base64_simd(const char* in, size_t n, unsigned char* out, size_t room) {
  const __m128i lut_lo = _mm_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A, 0x1B,
                                       0x1B, 0x1B, 0x1A);
  const __m128i lut_hi = _mm_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10,
                                       0x10, 0x10, 0x10);
  const __m128i lut_roll = _mm_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m128i mask_2f = _mm_set1_epi8(0x2F);
  const __m128i pack = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
  size_t read = 0, written = 0;
  while (n - read >= 16 && room - written >= 16) {
    const __m128i str = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + read));
    const __m128i hi_nibbles = _mm_and_si128(_mm_srli_epi32(str, 4), mask_2f);
    const __m128i lo = _mm_shuffle_epi8(lut_lo, _mm_and_si128(str, mask_2f));
    const __m128i hi = _mm_shuffle_epi8(lut_hi, hi_nibbles);
    // A byte >= 0x80 indexes as 0 in pshufb: its high nibble's entry (0x10) with lo's
    // bit 4 (set for every low nibble) refuses it.
    if (!_mm_testz_si128(lo, hi)) break;
    const __m128i eq_2f = _mm_cmpeq_epi8(str, mask_2f);
    const __m128i sextets = _mm_add_epi8(str, _mm_shuffle_epi8(lut_roll, _mm_add_epi8(eq_2f, hi_nibbles)));
    const __m128i pairs = _mm_maddubs_epi16(sextets, _mm_set1_epi32(0x01400140));
    const __m128i words = _mm_madd_epi16(pairs, _mm_set1_epi32(0x00011000));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + written), _mm_shuffle_epi8(words, pack));
    read += 16;
    written += 12;
  }
  return read;
}
#endif

}  // namespace

void MediaHasher::reset(MediaKind kind, bool bare_base64) {
  kind_ = kind;
  // The kind seeds the hash: the same bytes as an image and as audio are two things.
  XXH3_64bits_reset_withSeed(&xxh_, uint64_t(kind));
  state_ = bare_base64 ? State::Base64 : State::Start;
  base64_ = bare_base64;
  start_len_ = 0;
  header_bytes_ = 0;
  quad_ = 0;
  quad_len_ = 0;
  padding_ = 0;
  decoded_ = 0;
  out_len_ = 0;
}

void MediaHasher::flush() {
  if (out_len_ == 0) return;
  XXH3_64bits_update(&xxh_, out_, out_len_);
  decoded_ += out_len_;
  out_len_ = 0;
}

void MediaHasher::feed_header(std::string_view& bytes) {
  // Up to the comma: the media type and its parameters, hashed too (the same bytes as
  // image/png and image/jpeg are different inputs); ";base64" at its end says how the
  // data is written. A byte at a time: it is at most kMaxHeaderBytes.
  size_t i = 0;
  for (; i < bytes.size() && bytes[i] != ','; ++i) {
    if (++header_bytes_ > kMaxHeaderBytes) {
      state_ = State::Broken;
      return;
    }
    if (start_len_ == sizeof start_) std::memmove(start_, start_ + 1, --start_len_);
    start_[start_len_++] = bytes[i];
  }
  XXH3_64bits_update(&xxh_, bytes.data(), i);
  if (i == bytes.size()) {
    bytes = {};
    return;
  }
  bytes.remove_prefix(i + 1);
  base64_ = start_len_ == sizeof start_ && std::string_view(start_, sizeof start_) == ";base64";
  state_ = State::Raw;
}

void MediaHasher::feed_base64(std::string_view bytes) {
  while (!bytes.empty()) {
#if defined(__SSSE3__) && defined(__SSE4_1__)
    // Between quads (no sextets gathered, no padding seen): 16 characters at a time.
    while (quad_len_ == 0 && padding_ == 0 && bytes.size() >= 16) {
      if (sizeof out_ - out_len_ < 16) flush();
      const size_t read = decode_base64_simd(bytes.data(), bytes.size(), out_ + out_len_, sizeof out_ - out_len_);
      out_len_ += read / 4 * 3;
      bytes.remove_prefix(read);
      if (sizeof out_ - out_len_ >= 16) break;  // stopped at 16 it could not read (or the tail)
    }
#endif
    // Bytewise up to the next quad's start (so that a piece cut mid-quad does not keep the
    // vector loop out): a quad the vector loop refused (padding, the URL-safe alphabet, a
    // bad byte), a piece's tail, or everything where there is no vector loop.
    size_t take = 0;
    while (take < bytes.size()) {
      const char c = bytes[take++];
      if (c == '=') {
        // Padding ends the data: at most two, after two or three sextets of a quad.
        if (quad_len_ < 2 || padding_ + quad_len_ >= 4) {
          state_ = State::Broken;
          return;
        }
        ++padding_;
        continue;
      }
      const int8_t v = kSextet[static_cast<unsigned char>(c)];
      if (v < 0 || padding_ > 0) {
        state_ = State::Broken;
        return;
      }
      quad_ = quad_ << 6 | uint32_t(v);
      if (++quad_len_ == 4) {
        if (out_len_ + 3 > sizeof out_) flush();
        out_[out_len_++] = static_cast<unsigned char>(quad_ >> 16);
        out_[out_len_++] = static_cast<unsigned char>(quad_ >> 8);
        out_[out_len_++] = static_cast<unsigned char>(quad_);
        quad_ = 0;
        quad_len_ = 0;
        if (padding_ == 0) break;
      }
    }
    bytes.remove_prefix(take);
  }
}

void MediaHasher::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    switch (state_) {
      case State::Broken: return;
      case State::Start: {
        // Gather "data:" (or fewer bytes that differ from it: a URL).
        while (!bytes.empty() && start_len_ < kDataScheme.size()) {
          start_[start_len_++] = bytes.front();
          bytes.remove_prefix(1);
          if (std::string_view(start_, start_len_) != kDataScheme.substr(0, start_len_)) {
            state_ = State::Raw;  // a remote URL: hashed as its text
            XXH3_64bits_update(&xxh_, start_, start_len_);
            decoded_ += start_len_;
            break;
          }
        }
        if (state_ == State::Start && start_len_ == kDataScheme.size()) {
          state_ = State::Header;
          start_len_ = 0;
        }
        break;
      }
      case State::Header: {
        feed_header(bytes);
        if (state_ == State::Raw) {
          XXH3_64bits_update(&xxh_, ",", 1);  // the header and the data apart
          if (base64_) state_ = State::Base64;
        }
        break;
      }
      case State::Base64:
        feed_base64(bytes);
        return;
      case State::Raw:
        XXH3_64bits_update(&xxh_, bytes.data(), bytes.size());
        decoded_ += bytes.size();
        return;
    }
  }
}

std::optional<uint64_t> MediaHasher::finish() {
  if (state_ == State::Start && start_len_ > 0) {  // a URL shorter than "data:" (or exactly a prefix of it)
    XXH3_64bits_update(&xxh_, start_, start_len_);
    state_ = State::Raw;
  }
  if (state_ == State::Base64) {
    // The last quad: 2 or 3 sextets make 1 or 2 bytes (padded or not); 1 is broken.
    if (out_len_ + 2 > sizeof out_) flush();
    if (quad_len_ == 1) state_ = State::Broken;
    else if (quad_len_ == 2) out_[out_len_++] = static_cast<unsigned char>(quad_ >> 4);
    else if (quad_len_ == 3) {
      out_[out_len_++] = static_cast<unsigned char>(quad_ >> 10);
      out_[out_len_++] = static_cast<unsigned char>(quad_ >> 2);
    }
    if (padding_ > 0 && quad_len_ + padding_ != 4) state_ = State::Broken;
  }
  if (state_ == State::Broken || state_ == State::Header || state_ == State::Start) return std::nullopt;
  flush();
  return XXH3_64bits_digest(&xxh_);
}

}  // namespace ringgate::openai
