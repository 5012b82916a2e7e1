// The Exchange under flow control and rate limits, with no sockets: a saturated pool
// holds requests in the worker's queue (nothing is forwarded), capacity releases them
// highest band first, a client that goes away leaves the queue, the TTL and the
// bounds answer 503 (429 when sheddable) with Retry-After, and a tenant past its
// budget gets 429 with the x-ratelimit-* headers, which every answer carries.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "exchange_fakes.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "ringgate/proxy/exchange.h"
#include "ringgate/util/monotonic_clock.h"

using namespace ringgate;
using namespace ringgate::proxy;
using namespace ringgate::proxy::testing;

namespace {

struct Call {
  FakeClient client;
  http::Request request;
  std::unique_ptr<Exchange> exchange;
  int status() const { return client.out.size() > 12 ? std::stoi(client.out.substr(9, 3)) : 0; }
  bool says(std::string_view text) const { return client.out.find(text) != std::string::npos; }
};

struct Fixture {
  ProxyOptions options;
  WorkerCounters counters;
  metrics::WorkerStats stats;
  RequestRules rules;
  ModelCatalog catalog;
  FakeRouter router;
  FakeUpstreams upstreams;
  net::Timers timers;
  uint64_t now = 1000;
  FlowQueue queue;
  ModelHold hold;
  RateLimiter limiter{64};
  ExchangeEnv env;
  std::vector<std::unique_ptr<Call>> calls;

  Fixture() {
    upstreams.sending = false;
    options.request_timeout_ms = 0;
    rules.flow.enabled = true;
    rules.objective_priorities.emplace("critical", 10);
    rules.objective_priorities.emplace("batch", -1);
    rules.sheddable_objectives.insert("batch");
    env.options = &options;
    env.counters = &counters;
    env.stats = &stats;
    env.router = &router;
    env.rules = &rules;
    env.catalog = &catalog;
    env.upstreams = &upstreams;
    env.flow = &queue;
    env.flow_limits = &rules.flow.limits;
    env.hold = &hold;
    env.limiter = &limiter;
    env.timers = &timers;
    env.now_ms = &now;
  }

  Call& send(std::string_view objective = {}, std::string_view tenant = {}, size_t prompt_bytes = 5) {
    calls.push_back(std::make_unique<Call>());
    Call& c = *calls.back();
    c.exchange = std::make_unique<Exchange>(env, c.client);
    c.request.method = HTTP_POST;
    c.request.target = "/v1/completions";
    c.request.version_minor = 1;
    if (!objective.empty()) c.request.headers.push_back({"x-gateway-inference-objective", std::string(objective)});
    if (!tenant.empty()) c.request.headers.push_back({"x-gateway-inference-fairness-id", std::string(tenant)});
    c.request.body = R"({"model":"m","prompt":")" + std::string(prompt_bytes, 'a') + R"("})";
    c.exchange->start(c.request, true, true, now);
    return c;
  }

  void answer(size_t attempt, std::string_view body = "0123456789") {
    FakeChannel& a = *upstreams.attempts.at(attempt);
    http::ResponseParser head;
    std::string ignored;
    const std::string text = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " +
                             std::to_string(body.size()) + "\r\n\r\n";
    head.feed(text.data(), text.size(), &ignored);
    a.listener->on_response_head(head);
    a.listener->on_response_body(body);
    a.listener->on_response_end(true);
  }
};

}  // namespace

TEST_CASE("flow control: nothing is forwarded while the pool is saturated; capacity releases the highest band first") {
  Fixture f;
  f.router.saturated = true;
  Call& shed = f.send("batch");
  Call& normal = f.send();
  Call& crit = f.send("critical");
  CHECK(f.upstreams.attempts.empty());
  CHECK(f.queue.size() == 3);
  CHECK(shed.exchange->queued());
  CHECK(shed.client.out.empty());
  f.router.saturated = false;
  f.queue.dispatch();
  REQUIRE(f.upstreams.attempts.size() == 3);
  // Which exchange each attempt belongs to: its answer reaches that client only.
  f.answer(0, "critical..");
  f.answer(1, "normal....");
  f.answer(2, "batch.....");
  CHECK(crit.says("critical.."));
  CHECK(normal.says("normal...."));
  CHECK(shed.says("batch....."));
  CHECK_FALSE(shed.exchange->queued());
  CHECK(crit.status() == 200);
}

TEST_CASE("flow control: an idle pool dispatches at once, through the queue") {
  Fixture f;
  Call& c = f.send();
  REQUIRE(f.upstreams.attempts.size() == 1);
  CHECK(f.router.holds == 1);
  CHECK_FALSE(c.exchange->queued());
  CHECK(f.queue.empty());
  f.answer(0);
  CHECK(c.status() == 200);
}

TEST_CASE("flow control: a client that goes away leaves the queue at once") {
  Fixture f;
  f.router.saturated = true;
  Call& a = f.send();
  Call& b = f.send();
  CHECK(f.queue.size() == 2);
  a.exchange->client_gone();
  CHECK(f.queue.size() == 1);
  CHECK_FALSE(a.exchange->active());
  b.exchange.reset();  // the connection closed: the destructor leaves the queue too
  CHECK(f.queue.empty());
  f.router.saturated = false;
  f.queue.dispatch();
  CHECK(f.upstreams.attempts.empty());
}

TEST_CASE("flow control: the TTL answers 429 (llm-d's rejected-ttl-expired), with Retry-After") {
  Fixture f;
  f.router.saturated = true;
  Call& normal = f.send();
  Call& shed = f.send("batch");
  f.queue.expire(f.now + f.rules.flow.limits.ttl_ms, f.rules.flow.limits.ttl_ms);
  CHECK(normal.status() == 429);
  CHECK(shed.status() == 429);
  CHECK(normal.says("x-llm-d-request-dropped-reason: rejected-ttl-expired\r\n"));
  CHECK(normal.says("\"code\":\"queue_timeout\""));
  CHECK(normal.says("retry-after: 1\r\n"));
  CHECK(shed.says("retry-after: 1\r\n"));
  CHECK(f.queue.empty());
  CHECK(f.upstreams.attempts.empty());
}

TEST_CASE("flow control: past the band bound a sheddable request is refused with 429, lower bands evicted first") {
  Fixture f;
  f.rules.flow.limits.bands.push_back({-1, BandLimits{1, UINT64_MAX}});
  f.rules.flow.limits.total = BandLimits{2, UINT64_MAX};
  f.router.saturated = true;
  Call& s1 = f.send("batch");
  Call& s2 = f.send("batch");  // the band holds one
  CHECK(s2.status() == 429);
  CHECK(s2.says("\"code\":\"queue_full\""));
  Call& c1 = f.send("critical");
  Call& c2 = f.send("critical");  // the total holds two: s1 is evicted for it
  CHECK(s1.status() == 429);
  CHECK(c1.exchange->queued());
  CHECK(c2.exchange->queued());
  Call& c3 = f.send("critical");  // nothing lower left: a non-sheddable request gets 503
  CHECK(c3.status() == 503);
  CHECK(f.upstreams.attempts.empty());
}

TEST_CASE("rate limits: a tenant past its token budget gets 429 and the headers; the other tenant is not affected") {
  Fixture f;
  f.rules.flow.enabled = false;
  f.rules.rate_limits = RateLimitPolicy{100, 0};
  // ~60 bytes of body: an estimate of 15 tokens per request.
  Call& first = f.send({}, "greedy", 20);
  REQUIRE(f.upstreams.attempts.size() == 1);
  // The answer reports 90 tokens: the estimate is corrected up.
  f.answer(0, R"({"usage":{"prompt_tokens":40,"completion_tokens":50,"total_tokens":90}})");
  CHECK(first.status() == 200);
  CHECK(first.says("x-ratelimit-limit-tokens: 100\r\n"));
  CHECK(first.says("x-ratelimit-remaining-tokens: "));
  CHECK(first.says("x-ratelimit-reset-tokens: 60s\r\n"));
  Call& refused = f.send({}, "greedy", 20);
  CHECK(refused.status() == 429);
  CHECK(refused.says("\"code\":\"rate_limit_exceeded_tokens\""));
  CHECK(refused.says("x-ratelimit-remaining-tokens: 10\r\n"));
  CHECK(refused.says("retry-after: 60\r\n"));
  CHECK(f.upstreams.attempts.size() == 1);
  Call& other = f.send({}, "modest", 20);
  CHECK(f.upstreams.attempts.size() == 2);
  f.answer(1);
  CHECK(other.status() == 200);
  CHECK(other.says("x-ratelimit-remaining-tokens: 89\r\n"));
}

TEST_CASE("rate limits: an over-long tenant header is a 400, not a new tenant") {
  Fixture f;
  f.rules.rate_limits = RateLimitPolicy{0, 10};
  Call& c = f.send({}, std::string(129, 't'));
  CHECK(c.status() == 400);
  CHECK(c.says("\"code\":\"invalid_tenant\""));
  CHECK(f.limiter.tenants() == 0);
}

TEST_CASE("tracing: a request given up in the queue has an admission span up to the give-up, not its last pick") {
  Fixture f;
  f.options.tracing.enabled = true;
  f.stats.spans.enable(64);
  f.router.saturated = true;
  Call& c = f.send();
  const uint64_t queued_until = util::steady_ns();  // after every pick it had
  f.queue.expire(f.now + f.rules.flow.limits.ttl_ms, f.rules.flow.limits.ttl_ms);
  CHECK(c.status() == 429);
  bool found = false;
  const uint64_t offset = f.stats.span_clock.realtime_offset_ns();
  f.stats.spans.drain([&](const metrics::SpanRecord& r) {
    opentelemetry::proto::trace::v1::Span span;
    REQUIRE(span.ParseFromArray(r.span().data(), int(r.span().size())));
    if (span.name() != "ringgate.admission") return;
    found = true;
    CHECK(span.end_time_unix_nano() >= queued_until + offset);
    CHECK(span.status().code() == opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
  });
  CHECK(found);
}

namespace {

// The admission spans recorded so far: (outcome, rate-limit outcome or "", queued, error).
struct AdmissionSpan {
  std::string outcome, rate_limit;
  bool queued = false, error = false;
};
std::vector<AdmissionSpan> admission_spans(Fixture& f) {
  std::vector<AdmissionSpan> out;
  f.stats.spans.drain([&](const metrics::SpanRecord& r) {
    opentelemetry::proto::trace::v1::Span span;
    REQUIRE(span.ParseFromArray(r.span().data(), int(r.span().size())));
    if (span.name() != "ringgate.admission") return;
    AdmissionSpan a;
    for (const auto& kv : span.attributes()) {
      if (kv.key() == "ringgate.admission.outcome") a.outcome = kv.value().string_value();
      if (kv.key() == "ringgate.rate_limit.outcome") a.rate_limit = kv.value().string_value();
      if (kv.key() == "ringgate.flow_control.queued") a.queued = kv.value().bool_value();
    }
    a.error = span.status().code() == opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR;
    out.push_back(a);
  });
  return out;
}

}  // namespace

TEST_CASE(
    "tracing: an admission span where flow control or a rate limit admitted or refused, none where nothing admits") {
  Fixture f;
  f.options.tracing.enabled = true;
  f.stats.spans.enable(64);
  SUBCASE("neither configured: no admission span") {
    f.rules.flow.enabled = false;
    Call& c = f.send();
    f.answer(0);
    CHECK(c.status() == 200);
    CHECK(admission_spans(f).empty());
  }
  SUBCASE("flow control: queued, no rate-limit outcome") {
    Call& c = f.send();
    f.answer(0);
    CHECK(c.status() == 200);
    const std::vector<AdmissionSpan> spans = admission_spans(f);
    REQUIRE(spans.size() == 1);
    CHECK(spans[0].outcome == "admitted");
    CHECK(spans[0].queued);
    CHECK(spans[0].rate_limit.empty());
    CHECK_FALSE(spans[0].error);
  }
  SUBCASE("a rate limit: allowed, then refused") {
    f.rules.flow.enabled = false;
    f.rules.rate_limits = RateLimitPolicy{0, 1};
    Call& first = f.send({}, "t");
    f.answer(0);
    CHECK(first.status() == 200);
    Call& second = f.send({}, "t");
    CHECK(second.status() == 429);
    const std::vector<AdmissionSpan> spans = admission_spans(f);
    REQUIRE(spans.size() == 2);
    CHECK(spans[0].outcome == "admitted");
    CHECK(spans[0].rate_limit == "allowed");
    CHECK_FALSE(spans[0].queued);
    CHECK(spans[1].outcome == "rate_limited");
    CHECK(spans[1].rate_limit == "refused");
    CHECK(spans[1].error);
  }
  SUBCASE("a full queue") {
    f.rules.flow.limits.total = BandLimits{1, UINT64_MAX};
    f.router.saturated = true;
    f.send();
    Call& refused = f.send();
    CHECK(refused.says("\"code\":\"queue_full\""));
    const std::vector<AdmissionSpan> spans = admission_spans(f);
    REQUIRE(spans.size() == 1);
    CHECK(spans[0].outcome == "queue_full");
    CHECK(spans[0].error);
  }
}

// Scale from zero (issue 66): a first attempt that finds no ready server for its model waits
// in the worker's ModelHold, with or without flow control, until a server appears or
// noEndpointRequestTTL runs out.
namespace {
int64_t held_gauge(const metrics::WorkerStats& stats, bool held_only) {
  int64_t n = 0;
  stats.flow_bands.for_each(
      [&](std::string_view, const metrics::FlowBandStats& s) { n += held_only ? s.held.get() : s.queued.get(); });
  return n;
}
uint64_t outcome_count(const metrics::WorkerStats& stats, FlowOutcome outcome) {
  uint64_t n = 0;
  stats.flow_bands.for_each([&](std::string_view, const metrics::FlowBandStats& s) {
    for (size_t i = 0; i <= metrics::kFlowQueueDurationBuckets.size(); ++i)
      n += s.queue_duration[size_t(outcome)].bucket(i);
  });
  return n;
}
}  // namespace

TEST_CASE("scale from zero: held with nothing sent while no server serves the model; released when one appears") {
  for (const bool flow : {false, true}) {
    CAPTURE(flow);
    Fixture f;
    f.rules.flow.enabled = flow;
    f.router.endpoints = 0;
    Call& a = f.send();
    Call& b = f.send("critical");
    CHECK(a.client.out.empty());  // nothing reaches the client while held
    CHECK(b.client.out.empty());
    CHECK(f.hold.size() == 2);
    CHECK(f.queue.empty());
    CHECK(held_gauge(f.stats, true) == 2);
    CHECK(held_gauge(f.stats, false) == 2);
    f.hold.dispatch();  // still none
    CHECK(f.hold.size() == 2);
    CHECK(f.upstreams.attempts.empty());
    f.router.endpoints = 3;
    f.hold.dispatch();
    CHECK(f.hold.empty());
    REQUIRE(f.upstreams.attempts.size() == 2);
    CHECK(held_gauge(f.stats, false) == 0);
    CHECK(outcome_count(f.stats, FlowOutcome::Dispatched) == 2);
  }
}

TEST_CASE("scale from zero: waiting out noEndpointRequestTTL with no server: 503 rejected-no-endpoints") {
  Fixture f;
  f.rules.flow.enabled = false;
  f.rules.flow.limits.no_endpoint_ttl_ms = 3000;
  f.router.endpoints = 0;
  Call& c = f.send();
  f.hold.expire(f.now + 2999, 3000);
  CHECK(c.client.out.empty());
  f.hold.expire(f.now + 3000, 3000);
  CHECK(c.status() == 503);
  CHECK(c.says("x-llm-d-request-dropped-reason: rejected-no-endpoints\r\n"));
  CHECK(c.says("retry-after: 1\r\n"));
  CHECK(c.says("\"code\":\"no_endpoint\""));
  CHECK(f.hold.empty());
  CHECK(held_gauge(f.stats, false) == 0);
  CHECK(outcome_count(f.stats, FlowOutcome::EvictedNoEndpoints) == 1);
}

TEST_CASE("scale from zero: noEndpointRequestTTL 0 answers 503 at once, as before") {
  Fixture f;
  f.rules.flow.limits.no_endpoint_ttl_ms = 0;
  f.router.endpoints = 0;
  Call& c = f.send();
  CHECK(c.status() == 503);
  CHECK(f.hold.empty());
}

TEST_CASE("scale from zero: a client that goes while held leaves the hold at once") {
  Fixture f;
  f.router.endpoints = 0;
  Call& a = f.send();
  CHECK(f.hold.size() == 1);
  a.exchange->client_gone();
  CHECK(f.hold.empty());
  CHECK(held_gauge(f.stats, false) == 0);
  CHECK(held_gauge(f.stats, true) == 0);
  CHECK(outcome_count(f.stats, FlowOutcome::EvictedContextCancelled) == 1);
}

TEST_CASE("scale from zero: a server that appears saturated takes it to the flow-control queue, fresh TTL; then 429") {
  Fixture f;
  f.router.endpoints = 0;
  Call& c = f.send();
  f.now += 10000;  // waited 10 s for the server
  f.router.endpoints = 3;
  f.router.saturated = true;
  f.hold.dispatch();
  CHECK(f.hold.empty());
  CHECK(f.queue.size() == 1);  // the ordinary queue, its TTL from now
  CHECK(held_gauge(f.stats, false) == 1);
  CHECK(held_gauge(f.stats, true) == 0);
  f.queue.expire(f.now + f.rules.flow.limits.ttl_ms - 1, f.rules.flow.limits.ttl_ms);
  CHECK(c.client.out.empty());
  f.queue.expire(f.now + f.rules.flow.limits.ttl_ms, f.rules.flow.limits.ttl_ms);
  CHECK(c.status() == 429);
  CHECK(c.says("x-llm-d-request-dropped-reason: rejected-ttl-expired\r\n"));
}

TEST_CASE("scale from zero: without flow control a saturated new server keeps it held; its TTL then answers 429") {
  Fixture f;
  f.rules.flow.enabled = false;
  f.router.endpoints = 0;
  Call& c = f.send();
  f.router.endpoints = 3;
  f.router.saturated = true;
  f.hold.dispatch();
  CHECK(f.hold.size() == 1);  // paced by the saturation detector
  f.hold.expire(f.now + f.rules.flow.limits.no_endpoint_ttl_ms, f.rules.flow.limits.no_endpoint_ttl_ms);
  CHECK(c.status() == 429);
  CHECK(c.says("x-llm-d-request-dropped-reason: rejected-ttl-expired\r\n"));
}

TEST_CASE("scale from zero: the holding bounds full: 503 rejected-no-endpoints at once") {
  Fixture f;
  f.rules.flow.limits.total.max_requests = 1;
  f.router.endpoints = 0;
  Call& a = f.send();
  Call& b = f.send();
  CHECK(a.client.out.empty());
  CHECK(b.status() == 503);
  CHECK(b.says("x-llm-d-request-dropped-reason: rejected-no-endpoints\r\n"));
  CHECK(outcome_count(f.stats, FlowOutcome::RejectedNoEndpoints) == 1);
}

TEST_CASE("flow control: a full queue says rejected-capacity") {
  Fixture f;
  f.rules.flow.limits.total.max_requests = 1;
  f.router.saturated = true;
  f.send();
  Call& b = f.send();
  CHECK(b.status() == 503);
  CHECK(b.says("x-llm-d-request-dropped-reason: rejected-capacity\r\n"));
}
