#include "ringgate/openai/event_stream_scanner.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ringgate::openai {
namespace {

// The event ends in one read: how many, where the first is and where the last four are
// (each the offset just past its `\n\n`; a ring, so that adding one is two stores).
struct EventEnds {
  uint32_t count = 0;
  size_t first = 0;
  size_t ring[4] = {};

  void add(size_t end) {
    if (count == 0) first = end;
    ring[count++ & 3] = end;
  }
  size_t end_of(uint32_t k) const { return ring[(count - 1 - k) & 3]; }  // k = 0: the last event
  // The start of the event that ends at end_of(k): the end before it, or the read's start.
  size_t start_of(uint32_t k) const { return k + 1 < count ? end_of(k + 1) : 0; }
};

// Each offset in p[at, n - 1) where a pair of '\n' starts, in order (the vector versions
// below do 32 or 16 offsets a step and return where they stopped).
template <typename Visit>
void scalar_pairs(const char* p, size_t at, size_t n, Visit&& visit) {
  for (; at + 1 < n; ++at)
    if (p[at] == '\n' && p[at + 1] == '\n') visit(at);
}

#if defined(__x86_64__)
template <typename Visit>
__attribute__((target("avx2"))) size_t avx2_pairs(const char* p, size_t n, Visit&& visit) {
  const __m256i newline = _mm256_set1_epi8('\n');
  size_t at = 0;
  for (; at + 33 <= n; at += 32) {
    const __m256i a = _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + at)), newline);
    const __m256i b = _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + at + 1)), newline);
    for (uint32_t mask = uint32_t(_mm256_movemask_epi8(_mm256_and_si256(a, b))); mask != 0; mask &= mask - 1)
      visit(at + size_t(__builtin_ctz(mask)));
  }
  return at;
}

template <typename Visit>
size_t sse2_pairs(const char* p, size_t n, Visit&& visit) {
  const __m128i newline = _mm_set1_epi8('\n');
  size_t at = 0;
  for (; at + 17 <= n; at += 16) {
    const __m128i a = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at)), newline);
    const __m128i b = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at + 1)), newline);
    for (uint32_t mask = uint32_t(_mm_movemask_epi8(_mm_and_si128(a, b))); mask != 0; mask &= mask - 1)
      visit(at + size_t(__builtin_ctz(mask)));
  }
  return at;
}

// A static initializer may run before libgcc's own CPU probe: it asks first.
const bool kHasAvx2 = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0;
}();
#endif

// The event ends in `data`; `newline_pending` carries a '\n' that ended the last read
// without ending an event (its pair may be this read's first byte).
EventEnds find_event_ends(std::string_view data, bool& newline_pending) {
  EventEnds ends;
  const char* p = data.data();
  const size_t n = data.size();
  size_t next = 0;  // a pair starting before this overlaps the last one counted (`\n\n\n` ends one event)
  if (newline_pending && p[0] == '\n') {
    ends.add(1);
    next = 1;
  }
  auto visit = [&](size_t at) {
    if (at < next) return;
    ends.add(at + 2);
    next = at + 2;
  };
  size_t tail = 0;
#if defined(__x86_64__)
  tail = kHasAvx2 ? avx2_pairs(p, n, visit) : sse2_pairs(p, n, visit);
#endif
  scalar_pairs(p, tail, n, visit);
  newline_pending = p[n - 1] == '\n' && next != n;
  return ends;
}

// Events the usage cannot be in: a comment (`:` keep-alive) or the stream's `[DONE]`.
bool holds_no_usage(std::string_view event) {
  if (event.empty() || event.front() == ':' || event.front() == '\n') return true;
  if (event.substr(0, 5) != "data:") return false;
  event.remove_prefix(5);
  if (!event.empty() && event.front() == ' ') event.remove_prefix(1);
  return event.substr(0, 6) == "[DONE]";
}

}  // namespace

void EventStreamScanner::feed(std::string_view data) {
  if (data.empty()) return;
  const EventEnds ends = find_event_ends(data, newline_pending_);
  events_ += ends.count;
  size_t fed = 0;  // data[0, fed) went to usage_
  if (inside_event_) {
    fed = ends.count > 0 ? ends.first : data.size();
    usage_.feed(data.substr(0, fed));
    if (ends.count == 0) return;
  }
  if (ends.count > 0) {
    // The last complete data event, unless it began before `fed` (then it was fed whole).
    uint32_t k = 0;
    while (k < 2 && k + 1 <= ends.count &&
           holds_no_usage(data.substr(ends.start_of(k), ends.end_of(k) - ends.start_of(k))))
      ++k;
    if (k < ends.count && ends.start_of(k) >= fed) {
      const size_t start = ends.start_of(k);
      usage_.skip();
      usage_.feed(data.substr(start, ends.end_of(k) - start));
    }
  }
  inside_event_ = ends.count == 0 || ends.end_of(0) < data.size();
  if (inside_event_) {
    const size_t start = ends.count > 0 ? ends.end_of(0) : 0;
    usage_.skip();
    usage_.feed(data.substr(start));
  }
}

}  // namespace ringgate::openai
