// ExtProcStream without gRPC or processes: message order, the decision's shape, bounds
// on hostile input, and in-flight accounting, over a real RequestRouter and snapshot.
#include <doctest/doctest.h>
#include <netinet/in.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "ringgate/epp/epp_worker.h"
#include "ringgate/epp/ext_proc_stream.h"
#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/sched/rendezvous.h"
#include "ringgate/util/trace_context.h"

using namespace ringgate;
using epp::extproc::ProcessingRequest;
using epp::extproc::ProcessingResponse;
using Mode = envoy::extensions::filters::http::ext_proc::v3::ProcessingMode;

namespace {

sched::EndpointState endpoint(sched::EndpointId id, uint16_t port) {
  sched::EndpointState e;
  e.id = id;
  e.address.host = "127.0.0.1";
  e.address.port = port;
  auto* sin = reinterpret_cast<sockaddr_in*>(&e.address.sockaddr);
  sin->sin_family = AF_INET;
  sin->sin_port = htons(port);
  sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  e.address.sockaddr_len = sizeof(sockaddr_in);
  e.address_hash = sched::address_hash("127.0.0.1", port);
  e.models = {"m"};
  e.routable = true;
  return e;
}

struct Fixture {
  sched::SnapshotPublisher publisher{1};
  sched::PrefixIndex index;
  sched::InflightCounters inflight;
  std::unique_ptr<epp::EppWorker> worker;

  // pd: a second endpoint, a prefill pod (disaggregation on by default). tracing: spans
  // recorded into the worker's ring (drained by the test, as the exporter would).
  explicit Fixture(bool pd = false, bool tracing = false) {
    inflight.ensure(1);
    std::vector<sched::EndpointState> states;
    states.push_back(endpoint(0, 8001));
    if (pd) {
      states.push_back(endpoint(1, 8002));
      states.back().role = sched::EndpointRole::Prefill;
      states.front().role = sched::EndpointRole::Decode;
    }
    publisher.publish(std::make_unique<sched::EndpointSnapshot>(std::move(states)));
    epp::EppWorkerContext context;
    context.options.limits.max_body_bytes = 4096;
    context.options.limits.max_header_bytes = 2048;
    context.options.tracing.enabled = tracing;
    context.router.publisher = &publisher;
    context.router.index = &index;
    context.router.inflight = &inflight;
    worker = std::make_unique<epp::EppWorker>(context, 0);
  }
};

ProcessingRequest request_headers(bool end_of_stream = false, size_t extra = 0, size_t extra_bytes = 0) {
  ProcessingRequest r;
  auto* map = r.mutable_request_headers()->mutable_headers();
  auto add = [&](std::string key, std::string value) {
    auto* h = map->add_headers();
    h->set_key(key);
    h->set_raw_value(value);
  };
  add(":method", "POST");
  add(":path", "/v1/completions");
  add("x-gateway-destination-endpoint", "10.1.1.1:1");  // a client's own choice: must not win
  for (size_t i = 0; i < extra; ++i) add("x-" + std::to_string(i), "v");
  if (extra_bytes) add("x-big", std::string(extra_bytes, 'v'));
  r.mutable_request_headers()->set_end_of_stream(end_of_stream);
  return r;
}

ProcessingRequest body(std::string data, bool end_of_stream) {
  ProcessingRequest r;
  r.mutable_request_body()->set_body(std::move(data));
  r.mutable_request_body()->set_end_of_stream(end_of_stream);
  return r;
}

ProcessingRequest with_mode(ProcessingRequest r, Mode::BodySendMode request_mode,
                            Mode::BodySendMode response_mode = Mode::NONE) {
  r.mutable_protocol_config()->set_request_body_mode(request_mode);
  r.mutable_protocol_config()->set_response_body_mode(response_mode);
  return r;
}

std::string header(const epp::extproc::HeaderMutation& m, const std::string& key) {
  for (const auto& o : m.set_headers())
    if (o.header().key() == key) return o.header().raw_value();
  return "<absent>";
}

const std::string kBody = R"({"model":"m","prompt":"hello"})";

}  // namespace

TEST_CASE("duplex: the pick answers the headers, the body streams back, the response ends the in-flight count") {
  Fixture f;
  epp::ExtProcStream s(*f.worker);
  std::vector<ProcessingResponse> out;
  s.on_request(with_mode(request_headers(), Mode::FULL_DUPLEX_STREAMED, Mode::FULL_DUPLEX_STREAMED), out);
  CHECK(out.empty());  // held until the body is complete
  s.on_request(body(kBody.substr(0, 10), false), out);
  CHECK(out.empty());
  s.on_request(body(kBody.substr(10), true), out);
  REQUIRE(out.size() == 2);
  REQUIRE(out[0].has_request_headers());
  const auto& common = out[0].request_headers().response();
  CHECK(common.clear_route_cache());
  CHECK(header(common.header_mutation(), "x-gateway-destination-endpoint") == "127.0.0.1:8001");
  CHECK(header(common.header_mutation(), "content-length") == std::to_string(kBody.size()));
  CHECK(out[0].dynamic_metadata().fields().at("envoy.lb").struct_value().fields().at("x-gateway-destination-endpoint")
            .string_value() == "127.0.0.1:8001");
  const auto& streamed = out[1].request_body().response().body_mutation().streamed_response();
  CHECK(streamed.body() == kBody);
  CHECK(streamed.end_of_stream());
  CHECK(f.inflight.get(0) == 1);

  out.clear();
  ProcessingRequest head;
  auto* status = head.mutable_response_headers()->mutable_headers()->add_headers();
  status->set_key(":status");
  status->set_raw_value("200");
  s.on_request(head, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].has_response_headers());
  // A response chunk larger than GAIE's 62000-byte limit is echoed in pieces, in order.
  out.clear();
  ProcessingRequest chunk;
  chunk.mutable_response_body()->set_body(std::string(70000, 'a') + "b");
  chunk.mutable_response_body()->set_end_of_stream(true);
  s.on_request(chunk, out);
  REQUIRE(out.size() == 2);
  const auto& a = out[0].response_body().response().body_mutation().streamed_response();
  const auto& b = out[1].response_body().response().body_mutation().streamed_response();
  CHECK(a.body().size() == epp::kStreamedChunkBytes);
  CHECK_FALSE(a.end_of_stream());
  CHECK(a.body() + b.body() == chunk.response_body().body());
  CHECK(b.end_of_stream());
  CHECK(f.inflight.get(0) == 0);
  CHECK(s.end() == epp::StreamEnd::Open);  // the Gateway closes the stream
}

TEST_CASE("the stream going away after the pick releases the in-flight count") {
  Fixture f;
  {
    epp::ExtProcStream s(*f.worker);
    std::vector<ProcessingResponse> out;
    s.on_request(with_mode(request_headers(), Mode::BUFFERED), out);
    s.on_request(body(kBody, true), out);
    REQUIRE(out.size() == 2);
    CHECK(out[0].has_request_headers());
    CHECK(header(out[1].request_body().response().header_mutation(), "x-gateway-destination-endpoint") ==
          "127.0.0.1:8001");
    CHECK_FALSE(out[1].request_body().response().has_body_mutation());  // not rewritten: passed on
    CHECK(f.inflight.get(0) == 1);
    s.on_peer_gone();
    CHECK(f.inflight.get(0) == 0);
    s.on_request(body(kBody, true), out);  // nothing after the end
  }
  CHECK(f.inflight.get(0) == 0);
}

TEST_CASE("hostile input: header count and bytes, body bytes, unknown model") {
  Fixture f;
  std::vector<ProcessingResponse> out;
  {
    epp::ExtProcStream s(*f.worker);
    s.on_request(with_mode(request_headers(false, epp::kMaxHeaderCount + 1), Mode::FULL_DUPLEX_STREAMED), out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].immediate_response().status().code() == 431);
    CHECK(s.end() == epp::StreamEnd::Ok);
  }
  out.clear();
  {
    epp::ExtProcStream s(*f.worker);
    s.on_request(with_mode(request_headers(false, 0, 3000), Mode::FULL_DUPLEX_STREAMED), out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].immediate_response().status().code() == 431);
  }
  out.clear();
  {
    epp::ExtProcStream s(*f.worker);
    s.on_request(with_mode(request_headers(), Mode::FULL_DUPLEX_STREAMED), out);
    s.on_request(body(std::string(4000, ' '), false), out);
    CHECK(out.empty());
    s.on_request(body(std::string(97, ' '), false), out);  // 4097 > 4096
    REQUIRE(out.size() == 1);
    CHECK(out[0].immediate_response().status().code() == 413);
    CHECK(out[0].immediate_response().body().find("body_too_large") != std::string::npos);
  }
  out.clear();
  {
    epp::ExtProcStream s(*f.worker);
    s.on_request(with_mode(request_headers(), Mode::FULL_DUPLEX_STREAMED), out);
    s.on_request(body(R"({"model":"nope","prompt":"x"})", true), out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].immediate_response().status().code() == 404);
    CHECK(f.inflight.get(0) == 0);
  }
}

TEST_CASE("protocol misuse ends the stream with an error; STREAMED bodies are refused") {
  Fixture f;
  std::vector<ProcessingResponse> out;
  {
    epp::ExtProcStream s(*f.worker);
    s.on_request(body(kBody, true), out);
    CHECK(s.end() == epp::StreamEnd::InvalidArgument);
  }
  {
    epp::ExtProcStream s(*f.worker);
    s.on_request(with_mode(request_headers(), Mode::FULL_DUPLEX_STREAMED), out);
    s.on_request(request_headers(), out);
    CHECK(s.end() == epp::StreamEnd::InvalidArgument);
  }
  {
    epp::ExtProcStream s(*f.worker);
    ProcessingRequest r;
    r.mutable_response_body()->set_body("x");
    s.on_request(r, out);
    CHECK(s.end() == epp::StreamEnd::InvalidArgument);
  }
  {
    epp::ExtProcStream s(*f.worker);
    s.on_request(ProcessingRequest(), out);
    CHECK(s.end() == epp::StreamEnd::InvalidArgument);
  }
  {
    epp::ExtProcStream s(*f.worker);
    s.on_request(with_mode(request_headers(), Mode::STREAMED), out);
    CHECK(s.end() == epp::StreamEnd::Unimplemented);
  }
  CHECK(out.empty());
}

TEST_CASE("a request without a body gets any routable endpoint; observability mode answers nothing") {
  Fixture f;
  std::vector<ProcessingResponse> out;
  epp::ExtProcStream s(*f.worker);
  s.on_request(with_mode(request_headers(true), Mode::FULL_DUPLEX_STREAMED), out);
  REQUIRE(out.size() == 1);
  CHECK(header(out[0].request_headers().response().header_mutation(), "x-gateway-destination-endpoint") ==
        "127.0.0.1:8001");
  CHECK(header(out[0].request_headers().response().header_mutation(), "content-length") == "<absent>");

  std::vector<ProcessingResponse> quiet;
  epp::ExtProcStream observed(*f.worker);
  ProcessingRequest r = with_mode(request_headers(true), Mode::FULL_DUPLEX_STREAMED);
  r.set_observability_mode(true);
  observed.on_request(r, quiet);
  CHECK(quiet.empty());
}

TEST_CASE("response body mode NONE: the half-close ends a response whose head was seen") {
  Fixture f;
  epp::ExtProcStream s(*f.worker);
  std::vector<ProcessingResponse> out;
  s.on_request(with_mode(request_headers(), Mode::FULL_DUPLEX_STREAMED), out);
  s.on_request(body(kBody, true), out);
  CHECK(f.inflight.get(0) == 1);
  ProcessingRequest head;
  auto* status = head.mutable_response_headers()->mutable_headers()->add_headers();
  status->set_key(":status");
  status->set_raw_value("200");
  s.on_request(head, out);
  CHECK(f.inflight.get(0) == 1);
  const uint64_t cut = f.worker->counters().client_disconnects_mid_response.get();
  s.on_peer_closed();
  CHECK(f.inflight.get(0) == 0);
  CHECK(f.worker->counters().client_disconnects_mid_response.get() == cut);  // complete, not cut
}

TEST_CASE("the Gateway's subset hint narrows the pick; none eligible (or an empty list) is 503") {
  Fixture f;
  auto with_subset = [](ProcessingRequest r, std::vector<std::string> endpoints) {
    auto& ns = (*r.mutable_metadata_context()->mutable_filter_metadata())[std::string(epp::kSubsetHintNamespace)];
    auto* list = (*ns.mutable_fields())[std::string(epp::kSubsetHintKey)].mutable_list_value();
    for (const std::string& e : endpoints) list->add_values()->set_string_value(e);
    return r;
  };
  auto pick = [&](std::vector<std::string> subset) {
    epp::ExtProcStream s(*f.worker);
    std::vector<ProcessingResponse> out;
    s.on_request(with_subset(with_mode(request_headers(), Mode::FULL_DUPLEX_STREAMED), subset), out);
    s.on_request(body(kBody, true), out);
    REQUIRE(!out.empty());
    if (out[0].has_immediate_response()) return std::to_string(out[0].immediate_response().status().code());
    return header(out[0].request_headers().response().header_mutation(), "x-gateway-destination-endpoint");
  };
  CHECK(pick({"10.0.0.1:1", "127.0.0.1:8001"}) == "127.0.0.1:8001");
  CHECK(pick({"127.0.0.1:9999"}) == "503");
  CHECK(pick({}) == "503");
  CHECK(f.inflight.get(0) == 0);
}

TEST_CASE("P/D: a long uncached prompt names its prefill pod in x-prefiller-host-port; a short one removes it") {
  Fixture f(/*pd=*/true);
  auto decide = [&](const std::string& prompt) {
    epp::ExtProcStream s(*f.worker);
    std::vector<ProcessingResponse> out;
    s.on_request(with_mode(request_headers(), Mode::FULL_DUPLEX_STREAMED), out);
    s.on_request(body(R"({"model":"m","prompt":")" + prompt + R"("})", true), out);
    REQUIRE(!out.empty());
    return out[0].request_headers().response().header_mutation();
  };
  const epp::extproc::HeaderMutation split = decide(std::string(3000, 'x'));  // ~750 tokens, none cached
  CHECK(header(split, "x-gateway-destination-endpoint") == "127.0.0.1:8001");  // the decode pod
  CHECK(header(split, "x-prefiller-host-port") == "127.0.0.1:8002");
  CHECK(f.inflight.get(1) == 0);  // the sidecar's prefill leg is not counted here
  const epp::extproc::HeaderMutation whole = decide("short");
  CHECK(header(whole, "x-gateway-destination-endpoint") == "127.0.0.1:8001");
  CHECK(header(whole, "x-prefiller-host-port") == "<absent>");
  REQUIRE(whole.remove_headers_size() == 2);
  CHECK(whole.remove_headers(0) == "x-prefiller-host-port");  // a client's own does not reach the sidecar
  CHECK(whole.remove_headers(1) == "x-data-parallel-rank");   // nor its own rank (not a rank's endpoint)
}

TEST_CASE("a rank behind its server's one port is named in x-data-parallel-rank; a client's own never survives") {
  Fixture f;
  std::vector<sched::EndpointState> states;
  for (int32_t rank = 0; rank < 2; ++rank) {
    states.push_back(endpoint(sched::EndpointId(rank), 8001));
    states.back().dp = {rank, true};
    states.back().address_hash = sched::address_hash("127.0.0.1", 8001, states.back().dp);
  }
  f.inflight.ensure(1);
  f.publisher.publish(std::make_unique<sched::EndpointSnapshot>(std::move(states)));
  f.worker->refresh();
  std::set<std::string> ranks;
  for (int i = 0; i < 40 && ranks.size() < 2; ++i) {
    epp::ExtProcStream s(*f.worker);
    std::vector<ProcessingResponse> out;
    ProcessingRequest head = with_mode(request_headers(), Mode::FULL_DUPLEX_STREAMED);
    auto* own = head.mutable_request_headers()->mutable_headers()->add_headers();
    own->set_key("x-data-parallel-rank");
    own->set_raw_value("7");
    s.on_request(head, out);
    s.on_request(body(R"({"model":"m","prompt":"p)" + std::to_string(i) + R"("})", true), out);
    REQUIRE(!out.empty());
    const auto& mutation = out[0].request_headers().response().header_mutation();
    CHECK(header(mutation, "x-gateway-destination-endpoint") == "127.0.0.1:8001");
    const std::string rank = header(mutation, "x-data-parallel-rank");
    CHECK((rank == "0" || rank == "1"));  // overwrites the client's 7
    ranks.insert(rank);
  }
  CHECK(ranks.size() == 2);  // both ranks are endpoints the picker uses
}

namespace {

std::string hex(const uint8_t* id, size_t n) {
  std::string out(2 * n, '0');
  util::hex_id(id, n, out.data());
  return out;
}

// A response (200, one body chunk) that ends the stream's exchange.
void respond(epp::ExtProcStream& s) {
  std::vector<ProcessingResponse> out;
  ProcessingRequest head;
  auto* status = head.mutable_response_headers()->mutable_headers()->add_headers();
  status->set_key(":status");
  status->set_raw_value("200");
  s.on_request(head, out);
  ProcessingRequest chunk;
  chunk.mutable_response_body()->set_body(R"({"id":"cmpl-1","choices":[{"text":"hi","finish_reason":"length"}]})");
  chunk.mutable_response_body()->set_end_of_stream(true);
  s.on_request(chunk, out);
}

}  // namespace

TEST_CASE("tracing: each decision is a span of the trace Envoy sent; the model server gets the attempt's traceparent") {
  const std::string trace = "0af7651916cd43dd8448eb211c80319c", envoy_span = "b7ad6b7169203331";
  for (const bool sampled : {true, false}) {
    CAPTURE(sampled);
    Fixture f(false, /*tracing=*/true);
    for (const Mode::BodySendMode mode : {Mode::FULL_DUPLEX_STREAMED, Mode::BUFFERED}) {
      CAPTURE(int(mode));
      epp::ExtProcStream s(*f.worker);
      std::vector<ProcessingResponse> out;
      ProcessingRequest headers = with_mode(request_headers(), mode, mode);
      auto* h = headers.mutable_request_headers()->mutable_headers()->add_headers();
      h->set_key("traceparent");
      h->set_raw_value("00-" + trace + "-" + envoy_span + (sampled ? "-01" : "-00"));
      h = headers.mutable_request_headers()->mutable_headers()->add_headers();
      h->set_key("tracestate");
      h->set_raw_value("envoy=1");
      s.on_request(headers, out);
      out.clear();
      s.on_request(body(kBody, true), out);
      REQUIRE(!out.empty());
      const auto& mutation = mode == Mode::BUFFERED ? out[0].request_body().response().header_mutation()
                                                    : out[0].request_headers().response().header_mutation();
      CHECK(header(mutation, "x-gateway-destination-endpoint") == "127.0.0.1:8001");
      // The trace goes on to the model server under ringgate's span, with Envoy's flags and state.
      const std::string parent = header(mutation, "traceparent");
      REQUIRE(parent.size() == util::kTraceparentLength);
      CHECK(parent.substr(0, 36) == "00-" + trace + "-");
      CHECK(parent.substr(36, 16) != envoy_span);
      CHECK(parent.substr(52) == (sampled ? "-01" : "-00"));
      CHECK(header(mutation, "tracestate") == "envoy=1");
      respond(s);

      std::map<std::string, opentelemetry::proto::trace::v1::Span> spans;
      f.worker->stats().spans.drain([&](const metrics::SpanRecord& r) {
        opentelemetry::proto::trace::v1::Span span;
        REQUIRE(span.ParseFromArray(r.span().data(), int(r.span().size())));
        spans[span.name()] = span;
      });
      CHECK(f.worker->stats().spans.dropped() == 0);
      if (!sampled) {
        CHECK(spans.empty());  // propagated, not recorded
        continue;
      }
      REQUIRE(spans.count("ringgate.epp.decision") == 1);
      REQUIRE(spans.count("POST /v1/completions") == 1);
      REQUIRE(spans.count("ringgate.attempt") == 1);
      const opentelemetry::proto::trace::v1::Span& server = spans["POST /v1/completions"];
      const opentelemetry::proto::trace::v1::Span& decision = spans["ringgate.epp.decision"];
      for (const auto& span : spans) {
        const std::string& name = span.first;  // (clang 14 captures no structured binding)
        CAPTURE(name);
        CHECK(hex(reinterpret_cast<const uint8_t*>(span.second.trace_id().data()), 16) == trace);
      }
      CHECK(server.kind() == opentelemetry::proto::trace::v1::Span::SPAN_KIND_SERVER);
      CHECK(hex(reinterpret_cast<const uint8_t*>(server.parent_span_id().data()), 8) ==
            envoy_span);  // Envoy's span is the parent
      CHECK(decision.parent_span_id() == server.span_id());
      CHECK(decision.end_time_unix_nano() >= decision.start_time_unix_nano());
      CHECK(hex(reinterpret_cast<const uint8_t*>(spans["ringgate.attempt"].span_id().data()), 8) ==
            parent.substr(36, 16));
      std::map<std::string, std::string> strings;
      for (const auto& a : decision.attributes())
        if (a.value().has_string_value()) strings[a.key()] = a.value().string_value();
      CHECK(strings["ringgate.epp.endpoint"] == "127.0.0.1:8001");
      CHECK(strings["ringgate.epp.request_body_mode"] ==
            (mode == Mode::BUFFERED ? "buffered" : "full_duplex_streamed"));
      CHECK(strings.count("ringgate.epp.prefill_endpoint") == 0);  // not split: no empty attribute
    }
  }
}

TEST_CASE("tracing off: no traceparent is set and nothing is recorded") {
  Fixture f;
  epp::ExtProcStream s(*f.worker);
  std::vector<ProcessingResponse> out;
  ProcessingRequest headers = with_mode(request_headers(), Mode::FULL_DUPLEX_STREAMED, Mode::FULL_DUPLEX_STREAMED);
  auto* h = headers.mutable_request_headers()->mutable_headers()->add_headers();
  h->set_key("traceparent");
  h->set_raw_value("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  s.on_request(headers, out);
  s.on_request(body(kBody, true), out);
  REQUIRE(!out.empty());
  CHECK(header(out[0].request_headers().response().header_mutation(), "traceparent") == "<absent>");
  respond(s);
  CHECK(f.worker->stats().spans.drain([](const metrics::SpanRecord&) {}) == 0);
  CHECK(f.worker->stats().spans.dropped() == 0);
}

namespace {

struct Owner final : epp::StreamOwner {
  int answered = 0;
  void stream_answered() override { ++answered; }
};

void publish(Fixture& f, bool with_server) {
  std::vector<sched::EndpointState> states;
  if (with_server) {
    // Fresh metrics, none waiting: a held request is released only through the saturation detector.
    states.push_back(endpoint(0, 8001));
    states.back().has_metrics = true;
    states.back().scraped_at = sched::Clock::now() + std::chrono::hours(1);  // fresh throughout
  }
  f.publisher.publish(std::make_unique<sched::EndpointSnapshot>(std::move(states)));
  f.worker->refresh();
}

}  // namespace

TEST_CASE("no ready server: the stream is held with nothing sent, and picked for when a server appears") {
  for (const Mode::BodySendMode mode : {Mode::FULL_DUPLEX_STREAMED, Mode::BUFFERED}) {
    CAPTURE(mode);
    Fixture f;
    publish(f, /*with_server=*/false);
    Owner owner;
    epp::ExtProcStream s(*f.worker, &owner);
    std::vector<ProcessingResponse> out;
    s.on_request(with_mode(request_headers(), mode), out);
    out.clear();  // buffered: the headers' answer (the pick rides on the body's)
    s.on_request(body(kBody, true), out);
    CHECK(out.empty());
    CHECK(s.held());
    CHECK(f.worker->hold().size() == 1);
    CHECK(s.on_peer_closed() == false);  // a half-close does not end the wait
    f.worker->tick();                    // routed again: still no server
    CHECK(owner.answered == 0);
    publish(f, /*with_server=*/true);  // the new snapshot releases it
    CHECK(owner.answered == 1);
    CHECK(f.worker->hold().size() == 0);
    s.take_answers(out);
    REQUIRE(!out.empty());
    const auto& mutation = mode == Mode::BUFFERED ? out[0].request_body().response().header_mutation()
                                                  : out[0].request_headers().response().header_mutation();
    CHECK(header(mutation, "x-gateway-destination-endpoint") == "127.0.0.1:8001");
    CHECK(s.end() == epp::StreamEnd::Ok);  // half-closed: the answer is its last message
  }
}

TEST_CASE("a stream the Gateway cancels while held leaves the hold at once, never answered") {
  Fixture f;
  publish(f, /*with_server=*/false);
  Owner owner;
  auto s = std::make_unique<epp::ExtProcStream>(*f.worker, &owner);
  std::vector<ProcessingResponse> out;
  s->on_request(with_mode(request_headers(), Mode::FULL_DUPLEX_STREAMED), out);
  s->on_request(body(kBody, true), out);
  REQUIRE(f.worker->hold().size() == 1);
  s->on_peer_gone();
  CHECK(f.worker->hold().size() == 0);
  CHECK(!s->held());
  publish(f, /*with_server=*/true);
  CHECK(owner.answered == 0);
  CHECK(f.inflight.get(0) == 0);
  // One destroyed while held (its call freed) leaves nothing behind either.
  publish(f, /*with_server=*/false);
  s = std::make_unique<epp::ExtProcStream>(*f.worker, &owner);
  s->on_request(with_mode(request_headers(), Mode::FULL_DUPLEX_STREAMED), out);
  s->on_request(body(kBody, true), out);
  REQUIRE(f.worker->hold().size() == 1);
  s.reset();
  CHECK(f.worker->hold().size() == 0);
  f.worker->tick();
  publish(f, /*with_server=*/true);
  CHECK(owner.answered == 0);
}

TEST_CASE("EppWorker::route(): the slot it counted is in its ticket; dropped unsent, it goes back") {
  Fixture f;
  f.worker->refresh();
  proxy::RouteRequest request;
  request.model = request.stats_target = "m";
  {
    const proxy::Routed routed = f.worker->route(request);
    REQUIRE(routed.ok());
    CHECK(routed.decision.endpoint_id == 0);
    CHECK(routed.ticket.held());
    CHECK(f.inflight.get(0) == 1);
  }  // a caller that returns before sending
  CHECK(f.inflight.get(0) == 0);
  // A failed route holds nothing.
  request.model = request.stats_target = "missing";
  const proxy::Routed missing = f.worker->route(request);
  CHECK_FALSE(missing.ok());
  CHECK_FALSE(missing.ticket.held());
  CHECK(f.inflight.get(0) == 0);
}
