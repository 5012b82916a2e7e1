// The OTLP exporter's encoder (control/otlp_span_encoder.h) against protobuf's own
// serializer of the generated messages (proto/opentelemetry): the same bytes for the same
// span, and a request that the generated ExportTraceServiceRequest parses back.
#include <doctest/doctest.h>

#include <string>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "ringgate/control/otlp_span_encoder.h"

namespace otlp = opentelemetry::proto;
using ringgate::control::append_export_request;
using ringgate::control::append_span;
using ringgate::control::OtlpBatchFrame;
using ringgate::metrics::SpanAttribute;
using ringgate::metrics::SpanKind;
using ringgate::metrics::SpanRecord;
using ringgate::metrics::SpanStatus;

namespace {

// The span as the generated messages say it (what the exporter built before the encoder),
// wrapped as one ScopeSpans.spans field.
std::string reference(const SpanRecord& r, uint64_t offset) {
  otlp::trace::v1::ScopeSpans scope;
  otlp::trace::v1::Span* span = scope.add_spans();
  span->set_trace_id(r.trace_id.data(), r.trace_id.size());
  span->set_span_id(r.span_id.data(), r.span_id.size());
  if (r.has_parent) span->set_parent_span_id(r.parent_id.data(), r.parent_id.size());
  if (r.tracestate_length) span->set_trace_state(std::string(r.tracestate()));
  span->set_flags(r.flags);
  span->set_name(std::string(r.name()));
  span->set_kind(otlp::trace::v1::Span::SpanKind(r.kind));
  span->set_start_time_unix_nano(r.start_ns + offset);
  span->set_end_time_unix_nano(std::max(r.end_ns, r.start_ns) + offset);
  for (size_t i = 0; i < r.attribute_count; ++i) {
    const SpanAttribute& a = r.attributes[i];
    if (a.type == SpanAttribute::Type::String && a.length == 0) continue;
    otlp::common::v1::KeyValue* kv = span->add_attributes();
    kv->set_key(a.key);
    otlp::common::v1::AnyValue* v = kv->mutable_value();
    switch (a.type) {
      case SpanAttribute::Type::String: v->set_string_value(std::string(r.string_of(a))); break;
      case SpanAttribute::Type::Int: v->set_int_value(a.int_value); break;
      case SpanAttribute::Type::Double: v->set_double_value(a.double_value); break;
      case SpanAttribute::Type::Bool: v->set_bool_value(a.int_value != 0); break;
      case SpanAttribute::Type::StringList: {
        const std::string_view text = r.string_of(a);
        size_t pos = 0;
        while (pos <= text.size()) {
          size_t end = text.find(',', pos);
          if (end == std::string_view::npos) end = text.size();
          v->mutable_array_value()->add_values()->set_string_value(std::string(text.substr(pos, end - pos)));
          pos = end + 1;
        }
        break;
      }
    }
  }
  if (r.dropped_attributes) span->set_dropped_attributes_count(r.dropped_attributes);
  if (r.event_name != nullptr) {
    otlp::trace::v1::Span::Event* e = span->add_events();
    e->set_name(r.event_name);
    e->set_time_unix_nano(r.event_ns + offset);
  }
  if (r.status != SpanStatus::Unset) span->mutable_status()->set_code(otlp::trace::v1::Status::StatusCode(r.status));
  std::string out;
  scope.SerializeToString(&out);
  return out;
}

SpanRecord full_record() {
  SpanRecord r;
  r.reset();
  for (uint8_t i = 0; i < 16; ++i) r.trace_id[i] = uint8_t(0xa0 + i);
  for (uint8_t i = 0; i < 8; ++i) r.span_id[i] = uint8_t(0x10 + i), r.parent_id[i] = uint8_t(0x70 + i);
  r.has_parent = true;
  r.flags = 1;
  r.kind = SpanKind::Server;
  r.status = SpanStatus::Error;
  r.set_tracestate("vendor=abc,other=1");
  r.set_name("POST /v1/chat/completions");
  r.start_ns = 1000;
  r.end_ns = 987654321;
  r.event_name = "gen_ai.first_token";
  r.event_ns = 5000;
  r.add_string("http.request.method", "POST");
  r.add_string("empty", "");  // left out
  r.add_int("http.response.status_code", 503);
  r.add_int("negative", -7);  // ten bytes as a varint
  r.add_int("zero", 0);
  r.add_double("ringgate.ttft_seconds", 0.125);
  r.add_bool("ringgate.stream", true);
  r.add_bool("off", false);
  r.add_string("gen_ai.response.finish_reasons", "stop", true);
  r.add_string("two_reasons", "stop,length", true);
  r.add_string("long", std::string(300, 'x'));  // cut at 256: a two-byte length
  return r;
}

}  // namespace

TEST_CASE("a span's bytes are protobuf's own for the same message") {
  const SpanRecord r = full_record();
  const uint64_t offset = 1700000000000000000ull;
  std::string out = "prefix";
  const size_t n = append_span(r, offset, out);
  CHECK(n == out.size() - 6);
  CHECK(out.substr(6) == reference(r, offset));

  // Parsed back by the generated code: the values, not only the bytes.
  otlp::trace::v1::ScopeSpans scope;
  REQUIRE(scope.ParseFromString(out.substr(6)));
  REQUIRE(scope.spans_size() == 1);
  const otlp::trace::v1::Span& s = scope.spans(0);
  CHECK(s.name() == "POST /v1/chat/completions");
  CHECK(s.trace_state() == "vendor=abc,other=1");
  CHECK(s.kind() == otlp::trace::v1::Span::SPAN_KIND_SERVER);
  CHECK(s.flags() == 1);
  CHECK(s.start_time_unix_nano() == offset + 1000);
  CHECK(s.status().code() == otlp::trace::v1::Status::STATUS_CODE_ERROR);
  CHECK(s.attributes_size() == 10);  // the empty string left out
  CHECK(s.attributes(2).key() == "negative");
  CHECK(s.attributes(2).value().int_value() == -7);
  CHECK(s.attributes(8).value().array_value().values_size() == 2);
  CHECK(s.attributes(8).value().array_value().values(1).string_value() == "length");
  CHECK(s.attributes(9).value().string_value().size() == 256);
  REQUIRE(s.events_size() == 1);
  CHECK(s.events(0).time_unix_nano() == offset + 5000);
}

TEST_CASE("a root span without parent, tracestate, event, status or flags") {
  SpanRecord r;
  r.reset();
  r.trace_id[0] = 1;
  r.span_id[7] = 2;
  r.kind = SpanKind::Client;
  r.set_name("ringgate.attempt");
  r.start_ns = 10;
  r.end_ns = 5;  // before the start (clock steps): the end is the start
  r.add_int("server.port", 8000);
  std::string out;
  append_span(r, 0, out);
  CHECK(out == reference(r, 0));
  otlp::trace::v1::ScopeSpans scope;
  REQUIRE(scope.ParseFromString(out));
  CHECK(scope.spans(0).parent_span_id().empty());
  CHECK(scope.spans(0).end_time_unix_nano() == 10);
}

TEST_CASE("a batch: the request the generated ExportTraceServiceRequest writes") {
  OtlpBatchFrame frame;
  otlp::resource::v1::Resource resource;
  otlp::common::v1::KeyValue* kv = resource.add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("ringgate-test");
  resource.SerializeToString(&frame.resource);
  otlp::common::v1::InstrumentationScope scope;
  scope.set_name("ringgate");
  scope.SerializeToString(&frame.scope);

  std::string spans;
  SpanRecord a = full_record(), b = full_record();
  b.set_name("ringgate.pick");
  append_span(a, 7, spans);
  append_span(b, 7, spans);
  for (int many = 0; many < 200; ++many) append_span(a, 7, spans);  // lengths of several varint bytes
  std::string body = "head";
  append_export_request(frame, spans, body);
  CHECK(ringgate::control::export_request_size(frame, spans.size()) == body.size() - 4);
  body.erase(0, 4);

  otlp::collector::trace::v1::ExportTraceServiceRequest expected;
  otlp::trace::v1::ResourceSpans* rs = expected.add_resource_spans();
  *rs->mutable_resource() = resource;
  otlp::trace::v1::ScopeSpans* ss = rs->add_scope_spans();
  *ss->mutable_scope() = scope;
  REQUIRE(ss->MergeFromString(reference(a, 7)));
  REQUIRE(ss->MergeFromString(reference(b, 7)));
  for (int many = 0; many < 200; ++many) REQUIRE(ss->MergeFromString(reference(a, 7)));
  std::string wanted;
  expected.SerializeToString(&wanted);
  CHECK(body == wanted);

  otlp::collector::trace::v1::ExportTraceServiceRequest parsed;
  REQUIRE(parsed.ParseFromString(body));
  REQUIRE(parsed.resource_spans_size() == 1);
  CHECK(parsed.resource_spans(0).resource().attributes(0).value().string_value() == "ringgate-test");
  CHECK(parsed.resource_spans(0).scope_spans(0).spans_size() == 202);
  CHECK(parsed.resource_spans(0).scope_spans(0).spans(1).name() == "ringgate.pick");
}
