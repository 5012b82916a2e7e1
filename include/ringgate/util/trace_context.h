#pragma once
// W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` header
// read and written, `tracestate` checked, ids made. What the spec says of a header that
// does not parse is done here: it is ignored (the caller starts a new trace), never an
// error. No allocation: ids are fixed arrays, a traceparent is 55 characters.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringgate::util {

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

inline constexpr size_t kTraceparentLength = 55;  // "00-" 32 "-" 16 "-" 2
inline constexpr uint8_t kTraceFlagSampled = 0x01;
// tracestate: at most 32 list members (the spec) and 512 bytes (the length the spec
// lets a vendor cut it to); longer or malformed ones are dropped, not forwarded.
inline constexpr size_t kMaxTracestateBytes = 512;
inline constexpr size_t kMaxTracestateMembers = 32;

struct TraceParent {
  TraceId trace_id{};
  SpanId parent_id{};
  uint8_t flags = 0;
  bool sampled() const { return (flags & kTraceFlagSampled) != 0; }
};

// Reads a traceparent header value. False when it does not parse: version ff, a wrong
// length for version 00 (a later version may be longer, its first 55 characters are
// read as version 00 says), upper-case or non-hex digits, an all-zero trace or parent id.
bool parse_traceparent(std::string_view value, TraceParent& out);

// "00-<trace>-<span>-<flags>" into `out` (kTraceparentLength characters, no terminator).
void format_traceparent(const TraceId& trace, const SpanId& span, uint8_t flags, char* out);

// Lower-case hex of an id into `out` (2 * size characters).
void hex_id(const uint8_t* id, size_t size, char* out);

// Whether a tracestate header value may be forwarded: within the bounds above, each
// member `key=value` with the spec's key and value characters (empty members allowed).
bool valid_tracestate(std::string_view value);

// A worker's id source: xoshiro256** seeded once, never zero ids (the spec's invalid value).
class TraceIdSource {
 public:
  explicit TraceIdSource(uint64_t seed);
  TraceId trace_id();
  SpanId span_id();
  // A number in [0, 1) for the ratio sampler.
  double unit();

 private:
  uint64_t next();
  uint64_t s_[4];
};

}  // namespace ringgate::util
