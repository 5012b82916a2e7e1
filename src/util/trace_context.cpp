#include "ringgate/util/trace_context.h"

#include <cstring>

namespace ringgate::util {

namespace {

constexpr char kHex[] = "0123456789abcdef";

// A lower-case hex digit's value, or -1 (the spec allows lower case only).
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool read_hex(std::string_view text, uint8_t* out, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) {
    const int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = uint8_t(hi << 4 | lo);
  }
  return true;
}

template <size_t N>
bool all_zero(const std::array<uint8_t, N>& id) {
  for (uint8_t b : id)
    if (b != 0) return false;
  return true;
}

uint64_t splitmix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

bool parse_traceparent(std::string_view v, TraceParent& out) {
  if (v.size() < kTraceparentLength) return false;
  uint8_t version = 0;
  if (!read_hex(v.substr(0, 2), &version, 1) || version == 0xff) return false;
  // Version 00 is exactly 55 characters; a later version may append "-..." fields.
  if (version == 0 && v.size() != kTraceparentLength) return false;
  if (version != 0 && v.size() > kTraceparentLength && v[kTraceparentLength] != '-') return false;
  if (v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  TraceParent p;
  if (!read_hex(v.substr(3, 32), p.trace_id.data(), 16)) return false;
  if (!read_hex(v.substr(36, 16), p.parent_id.data(), 8)) return false;
  if (!read_hex(v.substr(53, 2), &p.flags, 1)) return false;
  if (all_zero(p.trace_id) || all_zero(p.parent_id)) return false;
  out = p;
  return true;
}

void hex_id(const uint8_t* id, size_t size, char* out) {
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kHex[id[i] >> 4];
    out[2 * i + 1] = kHex[id[i] & 15];
  }
}

void format_traceparent(const TraceId& trace, const SpanId& span, uint8_t flags, char* out) {
  std::memcpy(out, "00-", 3);
  hex_id(trace.data(), 16, out + 3);
  out[35] = '-';
  hex_id(span.data(), 8, out + 36);
  out[52] = '-';
  hex_id(&flags, 1, out + 53);
}

// list-member = key "=" value; key = lcalpha *255(lcalpha / DIGIT / "_" / "-" / "*" / "/")
// with an optional "@" vendor part; value = 0*255(chr) nblk-chr, chr = %x20 / nblk-chr,
// nblk-chr = %x21-2B / %x2D-3C / %x3E-7E. Members are separated by commas and optional
// spaces or tabs.
bool valid_tracestate(std::string_view v) {
  if (v.size() > kMaxTracestateBytes) return false;
  size_t members = 0;
  size_t pos = 0;
  while (pos <= v.size()) {
    size_t end = v.find(',', pos);
    if (end == std::string_view::npos) end = v.size();
    std::string_view m = v.substr(pos, end - pos);
    while (!m.empty() && (m.front() == ' ' || m.front() == '\t')) m.remove_prefix(1);
    while (!m.empty() && (m.back() == ' ' || m.back() == '\t')) m.remove_suffix(1);
    if (!m.empty()) {
      if (++members > kMaxTracestateMembers) return false;
      const size_t eq = m.find('=');
      if (eq == std::string_view::npos || eq == 0 || eq > 256 || eq + 1 >= m.size()) return false;
      const std::string_view key = m.substr(0, eq), value = m.substr(eq + 1);
      if (!((key[0] >= 'a' && key[0] <= 'z') || (key[0] >= '0' && key[0] <= '9'))) return false;
      size_t at = 0;
      for (size_t i = 0; i < key.size(); ++i) {
        const char c = key[i];
        if (c == '@') {
          if (at != 0 || i + 1 == key.size()) return false;
          at = i;
          continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' || c == '/'))
          return false;
      }
      if (value.size() > 256 || value.back() == ' ') return false;
      for (char c : value)
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return false;
    }
    pos = end + 1;
  }
  return true;
}

TraceIdSource::TraceIdSource(uint64_t seed) {
  for (uint64_t& s : s_) s = splitmix(seed);
}

uint64_t TraceIdSource::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

TraceId TraceIdSource::trace_id() {
  TraceId id;
  do {
    const uint64_t a = next(), b = next();
    std::memcpy(id.data(), &a, 8);
    std::memcpy(id.data() + 8, &b, 8);
  } while (all_zero(id));
  return id;
}

SpanId TraceIdSource::span_id() {
  SpanId id;
  do {
    const uint64_t a = next();
    std::memcpy(id.data(), &a, 8);
  } while (all_zero(id));
  return id;
}

double TraceIdSource::unit() { return double(next() >> 11) * 0x1.0p-53; }

}  // namespace ringgate::util
