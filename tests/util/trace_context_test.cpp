#include "ringgate/util/trace_context.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace ringgate::util;

namespace {
const std::string kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
}

TEST_CASE("a valid traceparent is read") {
  TraceParent p;
  REQUIRE(parse_traceparent(kValid, p));
  CHECK(p.trace_id[0] == 0x4b);
  CHECK(p.trace_id[15] == 0x36);
  CHECK(p.parent_id[0] == 0x00);
  CHECK(p.parent_id[7] == 0xb7);
  CHECK(p.sampled());
  REQUIRE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", p));
  CHECK_FALSE(p.sampled());
}

TEST_CASE("malformed traceparents are ignored as the spec says") {
  TraceParent p;
  p.flags = 7;
  for (const std::string& bad : std::initializer_list<std::string>{
           std::string(),
           std::string("00"),
           kValid.substr(0, 54),                                             // short
           kValid + "-",                                                     // version 00 has no more fields
           kValid + "0",                                                     // too long
           "ff" + kValid.substr(2),                                          // version ff
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",        // upper case
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",        // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",        // zero parent id
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",        // separator
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",        // not hex
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",        // flags not hex
           "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",        // version not hex
           "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",       // later version, no '-'
       }) {
    CAPTURE(bad);
    CHECK_FALSE(parse_traceparent(bad, p));
  }
  CHECK(p.flags == 7);  // untouched
}

TEST_CASE("a later version is read by its version-00 prefix") {
  TraceParent p;
  CHECK(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", p));
  CHECK(parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next", p));
  CHECK(p.sampled());
}

TEST_CASE("format_traceparent writes what parse_traceparent reads") {
  TraceParent p;
  REQUIRE(parse_traceparent(kValid, p));
  char out[kTraceparentLength];
  format_traceparent(p.trace_id, p.parent_id, p.flags, out);
  CHECK(std::string(out, sizeof out) == kValid);
}

TEST_CASE("tracestate: members checked, bounded") {
  CHECK(valid_tracestate(""));
  CHECK(valid_tracestate("rojo=00f067aa0ba902b7"));
  CHECK(valid_tracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
  CHECK(valid_tracestate("rojo=00f067aa0ba902b7 ,\tcongo=t61rcWkgMzE, "));
  CHECK(valid_tracestate("tenant@vendor=x"));
  CHECK_FALSE(valid_tracestate("Rojo=1"));      // key upper case
  CHECK_FALSE(valid_tracestate("rojo"));        // no value
  CHECK_FALSE(valid_tracestate("rojo="));       // empty value
  CHECK_FALSE(valid_tracestate("rojo=a=b"));    // '=' in value
  CHECK_FALSE(valid_tracestate("rojo=a\x01"));  // control character
  CHECK_FALSE(valid_tracestate("@v=1"));
  std::string many;
  for (int i = 0; i < 32; ++i) many += (i ? ",k" : "k") + std::to_string(i) + "=v";
  CHECK(valid_tracestate(many));
  CHECK_FALSE(valid_tracestate(many + ",k32=v"));  // 33 members
  const std::string longest = "k=" + std::string(kMaxTracestateBytes - 2, 'v');
  CHECK_FALSE(valid_tracestate(longest));  // a value past 256 characters
  std::string big;
  while (big.size() < kMaxTracestateBytes) big += "a=" + std::string(60, 'v') + ",";
  CHECK_FALSE(valid_tracestate(big));  // past 512 bytes
  // At the byte bound (N and N+1): two members of valid shape, 512 bytes, then 513.
  const std::string at_bound = "a=" + std::string(254, 'v') + ",b=" + std::string(253, 'v');
  REQUIRE(at_bound.size() == kMaxTracestateBytes);
  CHECK(valid_tracestate(at_bound));
  CHECK_FALSE(valid_tracestate(at_bound + "v"));
}

TEST_CASE("ids are never zero and do not repeat") {
  TraceIdSource ids(0);
  std::set<SpanId> spans;
  for (int i = 0; i < 10000; ++i) spans.insert(ids.span_id());
  CHECK(spans.size() == 10000);
  const TraceId t = ids.trace_id();
  CHECK(t != TraceId{});
  double lo = 1, hi = 0;
  for (int i = 0; i < 10000; ++i) {
    const double u = ids.unit();
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  CHECK(lo >= 0.0);
  CHECK(lo < 0.01);
  CHECK(hi < 1.0);
  CHECK(hi > 0.99);
}
