// The OTLP exporter's request around a batch (control/otlp_span_encoder.h) against
// protobuf's own serializer of the generated messages (proto/opentelemetry): the same
// bytes, which the generated ExportTraceServiceRequest parses back. (The spans' own bytes:
// tests/metrics/span_builder_test.cpp.)
#include <doctest/doctest.h>

#include <string>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "ringgate/control/otlp_span_encoder.h"
#include "ringgate/metrics/span_builder.h"

namespace otlp = opentelemetry::proto;
using ringgate::control::append_export_request;
using ringgate::control::OtlpBatchFrame;
using ringgate::metrics::SpanBuilder;
using ringgate::metrics::SpanKind;
using ringgate::metrics::SpanRecord;
using ringgate::metrics::SpanStart;

namespace {

// One span, encoded by a worker's builder.
SpanRecord span(const char* name) {
  SpanRecord r;
  SpanStart s;
  for (uint8_t i = 0; i < 16; ++i) s.trace_id[i] = uint8_t(0xa0 + i);
  s.span_id[0] = 1;
  s.kind = SpanKind::Server;
  s.name = name;
  s.start_ns = 1000;
  s.end_ns = 2000;
  SpanBuilder b(r, s, 7);
  b.add_string("http.request.method", "POST");
  b.add_string("long", std::string(300, 'x'));
  b.finish();
  return r;
}

}  // namespace

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
  const SpanRecord a = span("POST /v1/completions"), b = span("ringgate.pick");
  spans.append(a.field());
  spans.append(b.field());
  for (int many = 0; many < 200; ++many) spans.append(a.field());  // lengths of several varint bytes
  std::string body = "head";
  append_export_request(frame, spans, body);
  CHECK(ringgate::control::export_request_size(frame, spans.size()) == body.size() - 4);
  body.erase(0, 4);

  otlp::collector::trace::v1::ExportTraceServiceRequest expected;
  otlp::trace::v1::ResourceSpans* rs = expected.add_resource_spans();
  *rs->mutable_resource() = resource;
  otlp::trace::v1::ScopeSpans* ss = rs->add_scope_spans();
  *ss->mutable_scope() = scope;
  REQUIRE(ss->MergeFromString(std::string(a.field())));
  REQUIRE(ss->MergeFromString(std::string(b.field())));
  for (int many = 0; many < 200; ++many) REQUIRE(ss->MergeFromString(std::string(a.field())));
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
