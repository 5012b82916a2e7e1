// A worker's span encoder (metrics/span_builder.h) against protobuf's own serializer of
// the generated messages (proto/opentelemetry): the same bytes for the same span, parsed
// back by the generated code; and its bounds (a full record drops attributes and counts
// them; an over-long tracestate, name or value is left out or cut on a UTF-8 boundary).
#include "ringgate/metrics/span_builder.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace otlp = opentelemetry::proto;
using ringgate::metrics::SpanBuilder;
using ringgate::metrics::SpanKind;
using ringgate::metrics::SpanRecord;
using ringgate::metrics::SpanStart;
using ringgate::metrics::SpanStatus;

namespace {

// A span as a test describes it: written through the builder, or through the generated
// messages for the reference bytes.
struct Attribute {
  enum class Type { String, Ascii, List, Int, Double, Bool } type;
  std::string key, text;
  int64_t integer = 0;
  double real = 0;
};
struct Input {
  SpanStart start;
  std::string name, tracestate;
  std::vector<Attribute> attributes;
  SpanStatus status = SpanStatus::Unset;
  bool event = false;
  std::string event_name;
  uint64_t event_ns = 0;
};

SpanRecord build(const Input& in, uint64_t offset) {
  SpanRecord r;
  SpanStart s = in.start;
  s.name = in.name;
  s.tracestate = in.tracestate;
  SpanBuilder b(r, s, offset);
  for (const Attribute& a : in.attributes) {
    switch (a.type) {
      case Attribute::Type::String:
        b.add_string(a.key, a.text);
        break;
      case Attribute::Type::Ascii:
        b.add_ascii(a.key, a.text);
        break;
      case Attribute::Type::List:
        b.add_string_list(a.key, a.text);
        break;
      case Attribute::Type::Int:
        b.add_int(a.key, a.integer);
        break;
      case Attribute::Type::Double:
        b.add_double(a.key, a.real);
        break;
      case Attribute::Type::Bool:
        b.add_bool(a.key, a.integer != 0);
        break;
    }
  }
  b.set_status(in.status);
  if (in.event) b.set_event(in.event_name, in.event_ns);
  b.finish();
  return r;
}

// The same span through the generated messages, as one ScopeSpans.spans field.
std::string reference(const Input& in, uint64_t offset) {
  otlp::trace::v1::ScopeSpans scope;
  otlp::trace::v1::Span* span = scope.add_spans();
  span->set_trace_id(in.start.trace_id.data(), in.start.trace_id.size());
  span->set_span_id(in.start.span_id.data(), in.start.span_id.size());
  if (in.start.has_parent) span->set_parent_span_id(in.start.parent_id.data(), in.start.parent_id.size());
  span->set_trace_state(in.tracestate);
  span->set_flags(in.start.flags);
  span->set_name(in.name);
  span->set_kind(otlp::trace::v1::Span::SpanKind(in.start.kind));
  span->set_start_time_unix_nano(in.start.start_ns + offset);
  span->set_end_time_unix_nano(std::max(in.start.end_ns, in.start.start_ns) + offset);
  for (const Attribute& a : in.attributes) {
    if (a.type != Attribute::Type::Int && a.type != Attribute::Type::Double && a.type != Attribute::Type::Bool &&
        a.text.empty())
      continue;
    otlp::common::v1::KeyValue* kv = span->add_attributes();
    kv->set_key(a.key);
    otlp::common::v1::AnyValue* v = kv->mutable_value();
    switch (a.type) {
      case Attribute::Type::String:
      case Attribute::Type::Ascii:
        v->set_string_value(a.text.substr(0, 256));
        break;
      case Attribute::Type::Int:
        v->set_int_value(a.integer);
        break;
      case Attribute::Type::Double:
        v->set_double_value(a.real);
        break;
      case Attribute::Type::Bool:
        v->set_bool_value(a.integer != 0);
        break;
      case Attribute::Type::List: {
        size_t pos = 0;
        while (pos <= a.text.size()) {
          size_t end = a.text.find(',', pos);
          if (end == std::string::npos) end = a.text.size();
          v->mutable_array_value()->add_values()->set_string_value(a.text.substr(pos, end - pos));
          pos = end + 1;
        }
        break;
      }
    }
  }
  if (in.event) {
    otlp::trace::v1::Span::Event* e = span->add_events();
    e->set_name(in.event_name);
    e->set_time_unix_nano(in.event_ns + offset);
  }
  if (in.status != SpanStatus::Unset) span->mutable_status()->set_code(otlp::trace::v1::Status::StatusCode(in.status));
  std::string out;
  scope.SerializeToString(&out);
  return out;
}

Input full_input() {
  Input in;
  for (uint8_t i = 0; i < 16; ++i) in.start.trace_id[i] = uint8_t(0xa0 + i);
  for (uint8_t i = 0; i < 8; ++i) in.start.span_id[i] = uint8_t(0x10 + i), in.start.parent_id[i] = uint8_t(0x70 + i);
  in.start.has_parent = true;
  in.start.flags = 1;
  in.start.kind = SpanKind::Server;
  in.start.start_ns = 1000;
  in.start.end_ns = 987654321;
  in.status = SpanStatus::Error;
  in.tracestate = "vendor=abc,other=1";
  in.name = "POST /v1/chat/completions";
  in.event = true;
  in.event_name = "gen_ai.first_token";
  in.event_ns = 5000;
  using T = Attribute::Type;
  in.attributes = {{T::String, "http.request.method", "POST"},
                   {T::String, "empty", ""},  // left out
                   {T::Int, "http.response.status_code", "", 503},
                   {T::Int, "negative", "", -7},  // ten bytes as a varint
                   {T::Int, "zero", "", 0},
                   {T::Double, "ringgate.ttft_seconds", "", 0, 0.125},
                   {T::Bool, "ringgate.stream", "", 1},
                   {T::Bool, "off", "", 0},
                   {T::List, "gen_ai.response.finish_reasons", "stop"},
                   {T::List, "two_reasons", "stop,length"},
                   {T::String, "long", std::string(300, 'x')},  // cut at 256: a two-byte length
                   {T::Ascii, "ringgate.pick.reason", "prefix_placement"},
                   {T::Ascii, "ascii_empty", ""}};  // left out
  return in;
}

otlp::trace::v1::Span parsed(const SpanRecord& r) {
  otlp::trace::v1::Span s;
  REQUIRE(s.ParseFromArray(r.span().data(), int(r.span().size())));
  return s;
}

}  // namespace

TEST_CASE("a span's bytes are protobuf's own for the same message") {
  const Input in = full_input();
  const uint64_t offset = 1700000000000000000ull;
  const SpanRecord r = build(in, offset);
  CHECK(r.field() == reference(in, offset));

  // Parsed back by the generated code: the values, not only the bytes.
  const otlp::trace::v1::Span s = parsed(r);
  CHECK(s.name() == "POST /v1/chat/completions");
  CHECK(s.trace_state() == "vendor=abc,other=1");
  CHECK(s.kind() == otlp::trace::v1::Span::SPAN_KIND_SERVER);
  CHECK(s.flags() == 1);
  CHECK(s.start_time_unix_nano() == offset + 1000);
  CHECK(s.status().code() == otlp::trace::v1::Status::STATUS_CODE_ERROR);
  CHECK(s.attributes_size() == 11);  // the empty strings left out
  CHECK(s.attributes(2).key() == "negative");
  CHECK(s.attributes(2).value().int_value() == -7);
  CHECK(s.attributes(8).value().array_value().values_size() == 2);
  CHECK(s.attributes(8).value().array_value().values(1).string_value() == "length");
  CHECK(s.attributes(9).value().string_value().size() == 256);
  CHECK(s.attributes(10).value().string_value() == "prefix_placement");
  REQUIRE(s.events_size() == 1);
  CHECK(s.events(0).time_unix_nano() == offset + 5000);
  CHECK(s.dropped_attributes_count() == 0);
}

TEST_CASE("a root span without tracestate, event, status or flags") {
  Input in;
  in.start.trace_id[0] = 1;
  in.start.span_id[7] = 2;
  in.start.kind = SpanKind::Client;
  in.name = "ringgate.attempt";
  in.start.start_ns = 10;
  in.start.end_ns = 5;  // before the start (clock steps): the end is the start
  in.attributes = {{Attribute::Type::Int, "server.port", "", 8000}};
  const SpanRecord r = build(in, 0);
  CHECK(r.field() == reference(in, 0));
  const otlp::trace::v1::Span s = parsed(r);
  CHECK(s.parent_span_id().empty());
  CHECK(s.end_time_unix_nano() == 10);
}

TEST_CASE("a span longer than 127 bytes: a two-byte length in front, written where the record starts") {
  Input in = full_input();
  in.attributes.push_back({Attribute::Type::String, "more", std::string(200, 'y')});
  const SpanRecord r = build(in, 3);
  CHECK(r.begin == 0);  // tag and two length bytes fill the room in front
  CHECK(r.field() == reference(in, 3));
  Input small;
  small.name = "s";
  const SpanRecord s = build(small, 3);
  CHECK(s.begin == 1);  // one length byte
  CHECK(s.field() == reference(small, 3));
}

TEST_CASE("a full record keeps the attributes that fit and counts the rest; the trailer always fits") {
  Input in = full_input();
  in.tracestate = std::string(ringgate::util::kMaxTracestateBytes, 't');  // the largest fixed fields
  for (int i = 0; i < 40; ++i)
    in.attributes.push_back({Attribute::Type::String, "k" + std::to_string(i), std::string(100, 'v')});
  const SpanRecord r = build(in, 0);
  CHECK(r.end <= ringgate::metrics::kSpanRecordBytes);
  const otlp::trace::v1::Span s = parsed(r);
  const int kept = s.attributes_size();
  CHECK(kept > 0);
  CHECK(kept < 51);
  CHECK(s.dropped_attributes_count() == uint32_t(51 - kept));  // 53 given, the two empty ones are none
  CHECK(s.events_size() == 1);
  CHECK(s.status().code() == otlp::trace::v1::Status::STATUS_CODE_ERROR);
  CHECK(s.flags() == 1);
  CHECK(s.trace_state().size() == ringgate::util::kMaxTracestateBytes);
}

TEST_CASE("hostile text: a tracestate over the bound is left out; names and values are cut to well-formed UTF-8") {
  Input in;
  in.tracestate = std::string(ringgate::util::kMaxTracestateBytes + 1, 't');
  in.name = std::string(127, 'n') + "\xc3\xa9";  // é across the 128-byte cut (a request target's bytes)
  SpanRecord r;
  SpanStart s = in.start;
  s.name = in.name;
  s.tracestate = in.tracestate;
  SpanBuilder b(r, s, 0);
  b.add_string("value", std::string(255, 'v') + "\xe2\x82\xac");  // € across the 256-byte cut
  b.add_string("header", "ok \xc3\xa9 then \xff\xfe bad");  // a client's bytes: kept up to the first ill-formed one
  b.add_string("continuation", "\x80\x80");                 // nothing well-formed: no attribute
  b.add_string("surrogate", "\xed\xa0\x80");                // U+D800 is not UTF-8
  const std::string event(100, 'e');
  b.set_event(event, 1);
  b.finish();
  const otlp::trace::v1::Span span = parsed(r);
  CHECK(span.trace_state().empty());
  CHECK(span.name() == std::string(127, 'n'));
  REQUIRE(span.attributes_size() == 2);
  CHECK(span.attributes(0).value().string_value() == std::string(255, 'v'));
  CHECK(span.attributes(1).value().string_value() == "ok \xc3\xa9 then ");
  CHECK(span.events(0).name().size() == ringgate::metrics::kMaxSpanEventNameBytes);
}

TEST_CASE("utf8_prefix: an ill-formed byte anywhere in a string of any length ends it there") {
  for (size_t length = 1; length <= 40; ++length) {
    for (size_t bad = 0; bad < length; ++bad) {
      std::string text(length, 'a');
      text[bad] = '\xff';
      CAPTURE(length);
      CAPTURE(bad);
      CHECK(ringgate::metrics::utf8_prefix(text, 256).size() == bad);
      CHECK(ringgate::metrics::utf8_prefix(text, bad).size() == bad);  // cut before it: all ASCII
    }
    const std::string ascii(length, 'a');
    CHECK(ringgate::metrics::utf8_prefix(ascii, 256).size() == length);
    CHECK(ringgate::metrics::utf8_prefix(ascii, length / 2).size() == length / 2);
  }
}
