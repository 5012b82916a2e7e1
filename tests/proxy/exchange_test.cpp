// The Exchange state machine with no sockets: a fake client, a fake upstream side and
// a fake router drive it through every failure kind, before and after the first
// response byte, streaming or not, against the retry budget and deadline.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "exchange_fakes.h"
#include "ringgate/proxy/exchange.h"

using namespace ringgate;
using namespace ringgate::proxy;
using namespace ringgate::proxy::testing;

namespace {

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
  uint64_t first_byte = 0;  // the request's first byte, if before `now`
  ExchangeEnv env;
  FakeClient client;
  http::Request request;
  std::unique_ptr<Exchange> exchange;
  std::vector<std::unique_ptr<http::ResponseParser>> heads;

  Fixture() {
    options.max_attempts = 3;
    options.retry_deadline_ms = 5000;
    options.request_timeout_ms = 0;
    env.options = &options;
    env.counters = &counters;
    env.stats = &stats;
    env.router = &router;
    env.rules = &rules;
    env.catalog = &catalog;
    env.upstreams = &upstreams;
    env.timers = &timers;
    env.now_ms = &now;
    exchange = std::make_unique<Exchange>(env, client);
  }

  void start(bool stream = false, bool http11 = true, bool keep_alive = true) {
    request = http::Request{};
    request.method = HTTP_POST;
    request.target = "/v1/completions";
    request.version_minor = http11 ? 1 : 0;
    request.headers.push_back({"host", "gw"});
    request.body = std::string(R"({"model":"m","prompt":"hello","stream":)") + (stream ? "true" : "false") + "}";
    exchange->start(request, http11, keep_alive, first_byte != 0 ? first_byte : now);
  }

  FakeChannel& attempt(size_t i) { return *upstreams.attempts.at(i); }
  FakeChannel& last() { return *upstreams.attempts.back(); }
  size_t attempts() const { return upstreams.attempts.size(); }

  // The attempt's request went out completely.
  void sent(FakeChannel& a) { a.sending = false; }

  const http::ResponseParser& head(std::string_view text) {
    heads.push_back(std::make_unique<http::ResponseParser>());
    std::string body;
    heads.back()->feed(text.data(), text.size(), &body);
    REQUIRE(heads.back()->head_complete());
    return *heads.back();
  }
  void respond(FakeChannel& a, std::string_view head_text) {
    sent(a);
    a.listener->on_response_head(head(head_text));
  }
  void fail(FakeChannel& a, FailureKind kind) { a.listener->on_attempt_failed(kind); }

  int status() const { return client.out.size() > 12 ? std::stoi(client.out.substr(9, 3)) : 0; }
  bool says(std::string_view text) const { return client.out.find(text) != std::string::npos; }
};

constexpr std::string_view kOkLength = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 10\r\n\r\n";
constexpr std::string_view kOkChunked = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
constexpr std::string_view kSse = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
constexpr std::string_view k503 = "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 2\r\n\r\n";

}  // namespace

TEST_CASE("a clean exchange relays the response and gives the connection back for reuse") {
  Fixture f;
  f.start();
  REQUIRE(f.attempts() == 1);
  CHECK(f.upstreams.allow_reuse[0]);
  CHECK(f.last().sent.find(R"("model":"m")") != std::string::npos);
  f.respond(f.last(), kOkLength);
  f.last().listener->on_response_body("0123456789");
  f.last().listener->on_response_end(true);
  CHECK(f.client.finished == 1);
  CHECK(f.client.keep_alive);
  CHECK(f.status() == 200);
  CHECK(f.says("0123456789"));
  CHECK(f.attempt(0).released);
  CHECK(f.attempt(0).released_reusable);
  CHECK(f.router.in_flight == 0);
  CHECK(f.router.succeeded == std::vector<uint32_t>{0});
  CHECK_FALSE(f.exchange->active());
}

TEST_CASE("connect failures before the first byte go to the next endpoint") {
  for (FailureKind kind : {FailureKind::ConnectFailed, FailureKind::ConnectTimeout}) {
    CAPTURE(failure_kind_name(kind));
    Fixture f;
    f.start();
    f.fail(f.attempt(0), kind);
    REQUIRE(f.attempts() == 2);
    CHECK(f.attempt(1).endpoint == 1);
    CHECK(f.router.failed == std::vector<uint32_t>{0});
    CHECK(f.counters.upstream_retries.get() == 1);
    f.respond(f.attempt(1), kOkLength);
    f.attempt(1).listener->on_response_body("0123456789");
    f.attempt(1).listener->on_response_end(true);
    CHECK(f.status() == 200);
    CHECK(f.exchange->attempts() == 2);
    CHECK(f.router.in_flight == 0);
  }
}

TEST_CASE("no socket at all counts as a refused connection") {
  Fixture f;
  f.upstreams.refuse_sockets = 1;
  f.start();
  REQUIRE(f.attempts() == 1);  // the second open succeeded
  CHECK(f.last().endpoint == 1);
}

TEST_CASE("every endpoint refuses: 502 after max_attempts; every one times out: 504") {
  {
    Fixture f;
    f.router.endpoints = 5;
    f.start();
    for (int i = 0; i < 3; ++i) f.fail(f.last(), FailureKind::ConnectFailed);
    CHECK(f.attempts() == 3);  // the budget, not the 5 endpoints
    CHECK(f.status() == 502);
    CHECK(f.says("upstream_unavailable"));
    CHECK(f.router.in_flight == 0);
  }
  {
    Fixture f;
    f.router.endpoints = 2;
    f.start();
    f.fail(f.last(), FailureKind::ConnectTimeout);
    f.fail(f.last(), FailureKind::ConnectTimeout);  // no endpoint left
    CHECK(f.status() == 504);
    CHECK(f.says("upstream_timeout"));
  }
}

TEST_CASE("no retry after the retry deadline") {
  Fixture f;
  f.start();
  f.now += 6000;
  f.fail(f.attempt(0), FailureKind::ConnectFailed);
  CHECK(f.attempts() == 1);
  CHECK(f.status() == 502);
}

TEST_CASE("a reused connection that fails before any byte gets one fresh-connection retry") {
  Fixture f;
  f.upstreams.pooled = 1;
  f.start();
  REQUIRE(f.attempt(0).is_reused);
  f.sent(f.attempt(0));
  f.fail(f.attempt(0), FailureKind::Reset);
  REQUIRE(f.attempts() == 2);
  CHECK(f.attempt(1).endpoint == 0);        // same endpoint
  CHECK_FALSE(f.upstreams.allow_reuse[1]);  // on a fresh connection
  CHECK(f.router.failed.empty());           // the idle close is not the endpoint's fault
  CHECK(f.exchange->attempts() == 2);       // counted in the budget
  CHECK(f.router.in_flight == 1);           // the endpoint's slot is still the request's
  SUBCASE("the fresh one answers") {
    f.respond(f.attempt(1), kOkLength);
    f.attempt(1).listener->on_response_end(false);
    CHECK(f.status() == 200);
  }
  SUBCASE("the fresh one fails too: the next endpoint") {
    f.fail(f.attempt(1), FailureKind::Reset);
    REQUIRE(f.attempts() == 3);
    CHECK(f.attempt(2).endpoint == 1);
    CHECK(f.router.failed == std::vector<uint32_t>{0});
  }
}

TEST_CASE("the fresh-connection retry obeys the same budget and deadline") {
  SUBCASE("budget") {
    Fixture f;
    f.options.max_attempts = 1;
    f.upstreams.pooled = 1;
    f.start();
    f.fail(f.attempt(0), FailureKind::Reset);
    CHECK(f.attempts() == 1);
    CHECK(f.status() == 502);
  }
  SUBCASE("deadline") {
    Fixture f;
    f.upstreams.pooled = 1;
    f.start();
    f.now += 5001;
    f.fail(f.attempt(0), FailureKind::Reset);
    CHECK(f.attempts() == 1);
    CHECK(f.status() == 502);
  }
  SUBCASE("the deadline counts from the first attempt, not the first byte") {
    // A request that waited past the deadline before its first attempt (queued, or for
    // its response's server: a CI run's 502) still gets its fresh connection.
    Fixture f;
    f.upstreams.pooled = 1;
    f.first_byte = f.now - 6000;
    f.start();
    f.now += 4999;
    f.fail(f.attempt(0), FailureKind::Reset);
    REQUIRE(f.attempts() == 2);
    CHECK(f.upstreams.allow_reuse[1] == false);
    f.now += 1;
    f.fail(f.attempt(1), FailureKind::Reset);
    CHECK(f.attempts() == 2);
    CHECK(f.status() == 502);
  }
}

TEST_CASE("a reset on a fresh connection before any byte goes elsewhere; past the budget, 502") {
  Fixture f;
  f.options.max_attempts = 2;
  f.start();
  f.fail(f.attempt(0), FailureKind::Reset);
  REQUIRE(f.attempts() == 2);
  CHECK(f.attempt(1).endpoint == 1);
  f.fail(f.attempt(1), FailureKind::Reset);
  CHECK(f.status() == 502);
  CHECK(f.router.failed == std::vector<uint32_t>{0, 1});
}

TEST_CASE("first-byte timeout: 504, never retried (the request may be running)") {
  for (bool stream : {false, true}) {
    Fixture f;
    f.start(stream);
    f.sent(f.attempt(0));
    f.fail(f.attempt(0), FailureKind::FirstByteTimeout);
    CHECK(f.attempts() == 1);
    CHECK(f.status() == 504);
    CHECK(f.says("upstream_timeout"));
    CHECK(f.router.failed == std::vector<uint32_t>{0});
  }
}

TEST_CASE("a malformed response before its head reached the client: 502 and close") {
  Fixture f;
  f.start();
  f.fail(f.attempt(0), FailureKind::Malformed);
  CHECK(f.status() == 502);
  CHECK(f.says("upstream_protocol_error"));
  CHECK_FALSE(f.client.keep_alive);
}

TEST_CASE("5xx before the first byte: retried elsewhere; the last 5xx is relayed") {
  Fixture f;
  f.router.endpoints = 2;
  f.start();
  f.respond(f.attempt(0), k503);
  REQUIRE(f.attempts() == 2);
  CHECK(f.attempt(0).released);
  CHECK(f.client.out.empty());
  f.respond(f.attempt(1), k503);  // no endpoint left: relayed
  CHECK(f.attempts() == 2);
  f.attempt(1).listener->on_response_body("no");
  f.attempt(1).listener->on_response_end(true);
  CHECK(f.status() == 503);
  CHECK(f.router.failed == std::vector<uint32_t>{0, 1});
}

TEST_CASE("5xx past the retry budget is relayed") {
  Fixture f;
  f.options.max_attempts = 1;
  f.start();
  f.respond(f.attempt(0), k503);
  CHECK(f.attempts() == 1);
  f.attempt(0).listener->on_response_end(true);
  CHECK(f.status() == 503);
}

TEST_CASE("after the first byte, a non-streaming response that breaks is visibly truncated") {
  for (FailureKind kind : {FailureKind::Reset, FailureKind::ReadIdleTimeout, FailureKind::Malformed}) {
    for (std::string_view head : {kOkLength, kOkChunked}) {
      CAPTURE(failure_kind_name(kind));
      Fixture f;
      f.start(/*stream=*/false);
      f.respond(f.attempt(0), head);
      f.attempt(0).listener->on_response_body("01234");
      f.fail(f.attempt(0), kind);
      CHECK(f.client.aborted);
      CHECK(f.client.finished == 0);
      // Nothing after the last body bytes: no terminating chunk, no error text.
      CHECK((f.client.out.ends_with("01234") || f.client.out.ends_with("01234\r\n")));
      CHECK_FALSE(f.says("error"));
      CHECK(f.attempts() == 1);  // never retried once bytes went out
      CHECK(f.counters.streams_broken.get() == 1);
      CHECK(f.router.in_flight == 0);
    }
  }
}

TEST_CASE("a server that breaks after its head but before a body byte is routed around unseen") {
  for (std::string_view head : {kSse, kOkLength}) {
    Fixture f;
    f.router.endpoints = 2;
    f.start(/*stream=*/head == kSse);
    f.respond(f.attempt(0), head);
    CHECK(f.client.out.empty());  // the head is held
    f.fail(f.attempt(0), FailureKind::Reset);
    REQUIRE(f.attempts() == 2);
    CHECK(f.client.out.empty());
    CHECK(f.counters.upstream_retries.get() == 1);
    f.respond(f.attempt(1), head);
    f.attempt(1).listener->on_response_body("0123456789");
    f.attempt(1).listener->on_response_end(true);
    CHECK(f.status() == 200);
    CHECK(f.client.out.find("HTTP/1.1") == f.client.out.rfind("HTTP/1.1"));  // one head
    CHECK(f.router.in_flight == 0);
  }
}

TEST_CASE("after the first byte, a stream that breaks (migration off) ends with an SSE error event") {
  for (FailureKind kind : {FailureKind::Reset, FailureKind::ReadIdleTimeout}) {
    Fixture f;
    f.options.migration.enabled = false;
    f.start(/*stream=*/true);
    f.respond(f.attempt(0), kSse);
    f.attempt(0).listener->on_response_body("data: {\"a\":1}\n\n");
    f.fail(f.attempt(0), kind);
    CHECK_FALSE(f.client.aborted);
    CHECK(f.client.finished == 1);
    CHECK(f.says(kind == FailureKind::Reset ? "upstream_broken" : "upstream_timeout"));
    CHECK(f.client.out.ends_with("0\r\n\r\n"));
    CHECK(f.client.keep_alive);
    CHECK(f.attempts() == 1);
    CHECK(f.stats.migrations.of(metrics::MigrationOutcome::GaveUp, metrics::MigrationReason::Disabled).get() == 1);
  }
}

TEST_CASE("timeouts.request: 504 before the first body byte, SSE error after it") {
  {
    Fixture f;
    f.options.request_timeout_ms = 1000;
    f.start();
    f.now += 1000;
    f.timers.run(f.now);
    CHECK(f.status() == 504);
    CHECK(f.says("request_timeout"));
    CHECK(f.attempt(0).released);
  }
  {
    Fixture f;
    f.options.request_timeout_ms = 1000;
    f.start(/*stream=*/true);
    f.respond(f.attempt(0), kSse);  // a head, held: the client has seen nothing
    f.now += 1000;
    f.timers.run(f.now);
    CHECK(f.status() == 504);
    CHECK(f.says("request_timeout"));
    CHECK_FALSE(f.says("text/event-stream"));
  }
  {
    Fixture f;
    f.options.request_timeout_ms = 1000;
    f.start(/*stream=*/true);
    f.respond(f.attempt(0), kSse);
    f.attempt(0).listener->on_response_body("data: 1\n\n");
    f.now += 1000;
    f.timers.run(f.now);
    CHECK(f.says("data: {\"error\""));
    CHECK(f.client.out.ends_with("0\r\n\r\n"));
  }
  {
    Fixture f;  // an exchange that ended cancels its deadline
    f.options.request_timeout_ms = 1000;
    f.start();
    f.respond(f.attempt(0), kOkLength);
    f.attempt(0).listener->on_response_end(true);
    CHECK(f.timers.next_expiry() == UINT64_MAX);
  }
}

TEST_CASE("a send still in flight keeps its body alive; a retry sends a copy") {
  Fixture g;
  g.router.endpoints = 2;
  g.start();
  const std::string original = g.request.body.str();
  const char* g_block = g.request.body.data();
  REQUIRE(g.attempt(0).sending);  // an early 5xx answer while the body is still going out
  g.attempt(0).listener->on_response_head(g.head(k503));
  REQUIRE(g.attempts() == 2);
  CHECK(g.attempt(0).taken_body.data() == g_block);  // the same heap block, now the attempt's
  CHECK(g.request.body == original);
  CHECK(g.request.body.data() != g_block);
  CHECK(g.attempt(1).sent.find(R"("prompt":"hello")") != std::string::npos);
}

TEST_CASE("client gone mid-response: upstream dropped, in-flight released") {
  Fixture f;
  f.start(true);
  f.respond(f.attempt(0), kSse);
  f.exchange->client_gone();
  CHECK(f.attempt(0).released);
  CHECK_FALSE(f.attempt(0).released_reusable);
  CHECK(f.router.in_flight == 0);
  CHECK(f.counters.client_disconnects_mid_response.get() == 1);
}

TEST_CASE("latency model inputs: prefill tokens in flight until the first token, one sample per answered stream") {
  Fixture f;
  f.start(/*stream=*/true);
  CHECK(f.router.prefill[0] == 500);  // the decision's uncached tokens, counted at the endpoint
  f.respond(f.attempt(0), kSse);
  CHECK(f.router.prefill[0] == 500);  // a head is no token
  f.attempt(0).listener->on_response_body("data: {\"choices\":[{\"text\":\"hi\"}]}\n\n");
  CHECK(f.router.prefill[0] == 0);  // the first token: its prefill is done
  f.attempt(0).listener->on_response_body(
      "data: {\"choices\":[{\"text\":\" there\"}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
      "\"completion_tokens\":4,\"total_tokens\":13}}\n\ndata: [DONE]\n\n");
  f.attempt(0).listener->on_response_end(true);
  REQUIRE(f.router.samples.size() == 1);
  const sched::LatencySample& s = f.router.samples[0];
  CHECK(s.endpoint == 0);
  CHECK(s.features.ttft.uncached_prompt_tokens == 500);  // as sent
  CHECK(s.ttft_ns > 0);
  CHECK(s.tpot_ns > 0);  // 4 tokens: (end - first) / 3
  CHECK(f.router.prefill_in_flight() == 0);
}

TEST_CASE("latency model inputs: a stream without usage counts its token events for TPOT") {
  // A client that did not ask for stream_options.include_usage: three token events, one of
  // them ended across two reads, then [DONE]. TPOT = (end - first token) / 2.
  Fixture f;
  f.start(true);
  f.respond(f.attempt(0), kSse);
  const auto t0 = std::chrono::steady_clock::now();
  f.attempt(0).listener->on_response_body("data: {\"choices\":[{\"text\":\"a\"}]}\n\ndata: {\"choices\":[{\"text\":\"b\"}]}\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  f.attempt(0).listener->on_response_body("\ndata: {\"choices\":[{\"text\":\"c\"}]}\n\ndata: [DONE]\n\n");
  f.attempt(0).listener->on_response_end(true);
  const auto elapsed_ns = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
  REQUIRE(f.router.samples.size() == 1);
  const uint64_t tpot = f.router.samples[0].tpot_ns;
  // Two gaps span at least the 50 ms slept and at most the time it all took: counted as
  // one gap the product would pass the time taken, as three it would fall under the sleep.
  CHECK(2 * tpot >= 50'000'000);
  CHECK(2 * tpot <= elapsed_ns + 1'000'000);
}

TEST_CASE("latency model inputs: a failed try gives its prefill back; no sample without a token, a stream, or a 2xx") {
  {  // connect failure, then endpoint 1 answers: its features, its send time
    Fixture f;
    f.start(true);
    f.fail(f.attempt(0), FailureKind::ConnectFailed);
    CHECK(f.router.prefill[0] == 0);
    CHECK(f.router.prefill[1] == 501);
    f.respond(f.attempt(1), kSse);
    f.attempt(1).listener->on_response_body("data: {\"choices\":[{\"text\":\"hi\"}]}\n\ndata: [DONE]\n\n");
    f.attempt(1).listener->on_response_end(true);
    REQUIRE(f.router.samples.size() == 1);
    CHECK(f.router.samples[0].endpoint == 1);
    CHECK(f.router.samples[0].features.ttft.uncached_prompt_tokens == 501);
    CHECK(f.router.samples[0].tpot_ns == 0);  // one token event (no usage): no TPOT
    CHECK(f.router.prefill_in_flight() == 0);
  }
  {  // the client leaves before any token
    Fixture f;
    f.start(true);
    f.respond(f.attempt(0), kSse);
    f.exchange->client_gone();
    CHECK(f.router.prefill_in_flight() == 0);
    CHECK(f.router.samples.empty());
  }
  {  // not a stream: its first byte is its last, no TTFT
    Fixture f;
    f.start(false);
    f.respond(f.attempt(0), kOkLength);
    f.last().listener->on_response_body("0123456789");
    f.last().listener->on_response_end(true);
    CHECK(f.router.prefill_in_flight() == 0);
    CHECK(f.router.samples.empty());
  }
  {  // a 4xx stream answer
    Fixture f;
    f.start(true);
    f.respond(f.attempt(0), "HTTP/1.1 400 Bad Request\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n");
    f.attempt(0).listener->on_response_body("data: {\"choices\":[{\"text\":\"x\"}]}\n\n");
    f.attempt(0).listener->on_response_end(true);
    CHECK(f.router.prefill_in_flight() == 0);
    CHECK(f.router.samples.empty());
  }
}

TEST_CASE("token load: counted at the endpoint from the send until the attempt ends, a failed try's given back") {
  {  // answered
    Fixture f;
    f.start(true);
    CHECK(f.router.load_tokens[0] == 2000);
    f.respond(f.attempt(0), kSse);
    f.attempt(0).listener->on_response_body("data: {\"choices\":[{\"text\":\"hi\"}]}\n\n");
    CHECK(f.router.load_tokens[0] == 2000);  // the whole answer long, not only its prefill
    f.attempt(0).listener->on_response_body("data: [DONE]\n\n");
    f.attempt(0).listener->on_response_end(true);
    CHECK(f.router.load_in_flight() == 0);
  }
  {  // a connect failure, then endpoint 1
    Fixture f;
    f.start(true);
    f.fail(f.attempt(0), FailureKind::ConnectFailed);
    CHECK(f.router.load_tokens[0] == 0);
    CHECK(f.router.load_tokens[1] == 2001);
    f.exchange->client_gone();
    CHECK(f.router.load_in_flight() == 0);
  }
}

TEST_CASE("backpressure: a slow client pauses the upstream, draining resumes it") {
  Fixture f;
  f.options.max_client_buffer_bytes = 4;
  f.start(true);
  f.respond(f.attempt(0), kSse);
  f.attempt(0).listener->on_response_body("data: 1\n\n");
  CHECK(f.attempt(0).paused);
  f.exchange->client_drained();
  CHECK_FALSE(f.attempt(0).paused);
}

TEST_CASE("HTTP/1.0 with keep-alive gets connection: keep-alive") {
  Fixture f;
  f.start(false, /*http11=*/false, /*keep_alive=*/true);
  f.respond(f.attempt(0), kOkLength);
  f.attempt(0).listener->on_response_end(true);
  CHECK(f.says("connection: keep-alive\r\n"));
  CHECK(f.client.keep_alive);
}

TEST_CASE("bad JSON is answered 400 without any attempt") {
  Fixture f;
  f.request = http::Request{};
  f.request.method = HTTP_POST;
  f.request.body = "{nope";
  f.exchange->start(f.request, true, true, f.now);
  CHECK(f.status() == 400);
  CHECK(f.attempts() == 0);
  CHECK(f.client.keep_alive);
}

TEST_CASE("the router's refusal is the answer when nothing was tried") {
  Fixture f;
  f.router.endpoints = 0;
  f.start();
  CHECK(f.status() == 503);
  CHECK(f.says("no_endpoint"));
}

// The EPP statistics of the one label set a test's requests fall in (summed over the table).
namespace {
template <size_t N>
uint64_t count(const util::SingleWriterHistogram<N>& h) {
  uint64_t n = 0;
  for (size_t i = 0; i < h.kBuckets; ++i) n += h.bucket(i);
  return n;
}
struct ObjectiveTotals {
  uint64_t requests = 0, request_sizes = 0, ttft_stream = 0, ttft_plain = 0, running = 0;
  std::array<uint64_t, metrics::kErrorCodeNames.size()> errors{};
};
ObjectiveTotals totals(const metrics::WorkerStats& stats) {
  ObjectiveTotals t;
  stats.objectives.for_each([&](std::string_view, const metrics::ObjectiveStats& o) {
    t.requests += o.requests.get();
    t.request_sizes += count(o.request_sizes);
    t.ttft_plain += count(o.ttft[0]);
    t.ttft_stream += count(o.ttft[1]);
    t.running += uint64_t(o.running.get());
    for (size_t i = 0; i < t.errors.size(); ++i) t.errors[i] += o.errors[i].get();
  });
  return t;
}
}  // namespace

TEST_CASE("statistics: a retried request is one scheduled request; only its first decision is a first attempt") {
  Fixture f;
  f.router.endpoints = 2;
  f.start();
  f.respond(f.attempt(0), k503);  // retried elsewhere
  REQUIRE(f.attempts() == 2);
  f.respond(f.attempt(1), kOkLength);
  f.attempt(1).listener->on_response_body("0123456789");
  f.attempt(1).listener->on_response_end(true);
  CHECK(f.router.first_attempts == std::vector<bool>{true, false});
  CHECK(f.router.stats_targets == std::vector<std::string>{"other", "other"});  // "m" is not in the catalog
  const ObjectiveTotals t = totals(f.stats);
  CHECK(t.requests == 1);
  CHECK(t.request_sizes == 1);
  CHECK(t.running == 0);
  CHECK(t.ttft_plain == 1);
  for (uint64_t e : t.errors) CHECK(e == 0);
}

TEST_CASE("statistics: a relayed 5xx is the model server's error, the router's 503 the gateway's ServiceUnavailable") {
  {
    Fixture f;
    f.options.max_attempts = 1;
    f.start();
    f.respond(f.attempt(0), k503);
    f.attempt(0).listener->on_response_body("no");
    f.attempt(0).listener->on_response_end(true);
    const ObjectiveTotals t = totals(f.stats);
    CHECK(t.errors[size_t(metrics::ErrorCode::ModelServerError)] == 1);
    CHECK(t.errors[size_t(metrics::ErrorCode::ServiceUnavailable)] == 0);
    CHECK(t.requests == 1);
  }
  {
    Fixture f;
    f.router.endpoints = 0;  // the router refuses: 503 no_endpoint, written by the gateway
    f.start();
    CHECK(f.status() == 503);
    const ObjectiveTotals t = totals(f.stats);
    CHECK(t.errors[size_t(metrics::ErrorCode::ServiceUnavailable)] == 1);
    CHECK(t.requests == 0);  // refused before scheduling: an error, not a request
  }
}

TEST_CASE("statistics: a stream's TTFT waits for the first token, not the response head") {
  Fixture f;
  f.start(/*stream=*/true);
  f.respond(f.last(), kSse);
  f.last().listener->on_response_body(": keep-alive comment\n\n");
  f.last().listener->on_response_body("data: {\"choices\":[{\"index\":0,\"text\":\"\"}]}\n\n");
  f.exchange->client_gone();  // no token relayed: no TTFT
  CHECK(totals(f.stats).ttft_stream == 0);

  Fixture g;
  g.start(/*stream=*/true);
  g.respond(g.last(), kSse);
  g.last().listener->on_response_body("data: {\"choices\":[{\"index\":0,\"text\":\"Hel\"}]}\n\n");
  g.last().listener->on_response_body("data: [DONE]\n\n");
  g.last().listener->on_response_end(true);
  CHECK(totals(g.stats).ttft_stream == 1);
}

namespace {
// The prefix keys BodyReader's reading of a chat `body` gives (the path every body took before).
std::vector<uint64_t> reference_keys(const std::string& body) {
  openai::BodyReader reader;
  openai::RequestFields fields;
  std::string padded = body;
  openai::BodyReader::pad(padded);
  REQUIRE(reader.read(*openai::find_route("/v1/chat/completions"), {}, padded, padded.capacity(), fields).status == 0);
  std::vector<uint64_t> keys;
  sched::PrefixHasher(64).hash(fields.model, fields.prompt_parts, keys);
  return keys;
}
}  // namespace

TEST_CASE("the body is read and hashed as it arrives, at any cut; routing and retries see BodyReader's prefix") {
  std::string text;
  for (int i = 0; text.size() < 3000; ++i) text += "word" + std::to_string(i) + (i % 9 ? " " : "\\n\\u00e9 ");
  const std::string body = R"({"messages":[{"role":"system","content":")" + text +
                           R"("},{"role":"user","content":[{"type":"text","text":"and?"}]}],"model":"m","max_tokens":1})";
  const std::vector<uint64_t> expected = reference_keys(body);
  REQUIRE(expected.size() > 40);
  for (size_t cut : {size_t(0), size_t(1), size_t(17), size_t(64), size_t(1000), body.size() - 1, body.size()}) {
    CAPTURE(cut);
    Fixture f;
    f.request = http::Request{};
    f.request.method = HTTP_POST;
    f.request.target = "/v1/chat/completions";
    f.request.content_length = int64_t(body.size());
    f.request.body.assign(body, 0, cut);
    f.exchange->body_arrived(f.request, true);
    f.request.body.append(body, cut);
    f.exchange->body_arrived(f.request, false);
    f.exchange->start(f.request, true, true, f.now);
    f.fail(f.last(), FailureKind::ConnectFailed);  // a retry routes again
    REQUIRE(f.router.keys.size() == 2);
    CHECK(f.router.chained[0]);
    CHECK(f.router.chained[1]);
    CHECK(f.router.keys[0] == expected);
    CHECK(f.router.keys[1] == expected);
  }
}

TEST_CASE("a body the scanner gives up on is read by BodyReader: same prefix, same errors") {
  const std::string body = R"({"model":"m","messages":[{"content":"role after content","role":"user"}]})";
  Fixture f;
  f.request = http::Request{};
  f.request.method = HTTP_POST;
  f.request.target = "/v1/chat/completions";
  f.request.body = body;
  f.exchange->body_arrived(f.request, true);
  f.exchange->start(f.request, true, true, f.now);
  REQUIRE(f.router.keys.size() == 1);
  CHECK_FALSE(f.router.chained[0]);
  CHECK(f.router.keys[0] == reference_keys(body));
  // A body that is not valid JSON still gets BodyReader's 400, after a partial digest.
  Fixture g;
  g.request = http::Request{};
  g.request.method = HTTP_POST;
  g.request.target = "/v1/completions";
  g.request.body = R"({"model":"m","prompt":"x")";
  g.exchange->body_arrived(g.request, true);
  g.request.body += ",}";
  g.exchange->start(g.request, true, true, g.now);
  CHECK(g.status() == 400);
  CHECK(g.attempts() == 0);
}

// ---- Stream migration: a stream whose server breaks continues on another ----

namespace {

std::string completion_event(std::string_view id, std::string_view created, std::string_view text,
                             std::string_view finish = "null") {
  return "data: {\"id\":\"" + std::string(id) + "\",\"object\":\"text_completion\",\"created\":" + std::string(created) +
         ",\"model\":\"m\",\"choices\":[{\"index\":0,\"text\":\"" + std::string(text) +
         "\",\"logprobs\":null,\"finish_reason\":" + std::string(finish) + "}],\"usage\":null}\n\n";
}

std::string chat_event(std::string_view id, std::string_view delta, std::string_view finish = "null") {
  return "data: {\"id\":\"" + std::string(id) + "\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"m\","
         "\"choices\":[{\"index\":0,\"delta\":" + std::string(delta) + ",\"logprobs\":null,\"finish_reason\":" +
         std::string(finish) + "}]}\n\n";
}

void start_with(Fixture& f, std::string_view target, std::string_view body) {
  f.request = http::Request{};
  f.request.method = HTTP_POST;
  f.request.target = std::string(target);
  f.request.headers.push_back({"host", "gw"});
  f.request.body = std::string(body);
  f.exchange->start(f.request, true, true, f.now);
}

// The body the attempt sent (after its head).
std::string sent_body(const FakeChannel& a) { return a.sent.substr(a.sent.find("\r\n\r\n") + 4); }

// By the metric's labels, as a user reads them: a label that is not a reason fails the test.
uint64_t migrations(const Fixture& f, size_t outcome, std::string_view reason) {
  const auto& names = metrics::kMigrationReasons;
  const size_t r = size_t(std::find(names.begin(), names.end(), reason) - names.begin());
  REQUIRE_MESSAGE(r < names.size(), reason);
  return f.stats.migrations.count[outcome][r].get();
}

}  // namespace

TEST_CASE("migration: a completion stream that resets continues elsewhere, stitched token for token") {
  Fixture f;
  start_with(f, "/v1/completions",
             R"({"model":"m","prompt":"Hi","max_tokens":6,"stream":true,"stream_options":{"include_usage":true}})");
  f.respond(f.attempt(0), kSse);
  f.attempt(0).listener->on_response_body(completion_event("cmpl-1", "100", " the"));
  CHECK(f.attempt(0).read_idle_ms == f.options.migration.stall_timeout_ms);  // from its first byte
  // The next event arrives cut: its start is held back, the client stays at an event boundary.
  const std::string second = completion_event("cmpl-1", "100", " kv ");
  f.attempt(0).listener->on_response_body(second.substr(0, 30));
  const std::string seen = f.client.out;
  CHECK(seen.ends_with("\n\n\r\n"));
  f.fail(f.attempt(0), FailureKind::Reset);
  REQUIRE(f.attempts() == 2);
  CHECK(f.attempt(1).endpoint != f.attempt(0).endpoint);  // never the one that failed
  CHECK(f.router.failed == std::vector<uint32_t>{0});
  CHECK(sent_body(f.attempt(1)) ==
        R"({"model":"m","prompt":"Hi the","stream":true,"stream_options":{"include_usage":true},"max_tokens":5})");
  CHECK(f.attempt(1).sent.find("content-length: " + std::to_string(sent_body(f.attempt(1)).size())) !=
        std::string::npos);
  CHECK(f.client.out == seen);  // nothing more yet
  // The continuation: another id and time, the usage of its own prompt.
  f.respond(f.attempt(1), kSse);
  CHECK(f.client.out == seen);  // no second head
  f.attempt(1).listener->on_response_body(completion_event("cmpl-2", "107", " kv ") +
                                          completion_event("cmpl-2", "107", " gpu", "\"length\""));
  f.attempt(1).listener->on_response_body(
      "data: {\"id\":\"cmpl-2\",\"object\":\"text_completion\",\"created\":107,\"model\":\"m\",\"choices\":[],"
      "\"usage\":{\"prompt_tokens\":2,\"total_tokens\":7,\"completion_tokens\":5}}\n\ndata: [DONE]\n\n");
  f.attempt(1).listener->on_response_end(true);
  CHECK(f.client.finished == 1);
  CHECK(f.client.out.find("HTTP/1.1") == f.client.out.rfind("HTTP/1.1"));
  CHECK(f.client.out.find("cmpl-2") == std::string::npos);
  CHECK(f.client.out.find("107") == std::string::npos);
  CHECK(f.says(R"("text":" kv ")"));
  CHECK(f.says(R"("text":" gpu")"));
  // prompt 2 - 1 carried = 1 (the original prompt); completion 1 carried + 5.
  CHECK(f.says(R"("usage":{"prompt_tokens":1,"total_tokens":7,"completion_tokens":6})"));
  CHECK(f.says("data: [DONE]\n\n"));
  CHECK(f.client.out.ends_with("0\r\n\r\n"));
  CHECK(f.router.in_flight == 0);
  CHECK(f.exchange->migrations() == 1);
  CHECK(migrations(f, 0, "reset") == 1);
  CHECK(f.counters.streams_broken.get() == 0);
}

// A read as UpstreamConnection hands it over: decoded into the listener's sink when it
// offers one (true), else passed on from a buffer of its own.
bool read_body(FakeChannel& a, std::string_view decoded) {
  std::string* sink = a.listener->body_sink();
  if (sink == nullptr) {
    if (!decoded.empty()) a.listener->on_response_body(decoded);
    return false;
  }
  const size_t from = sink->size();
  sink->append(decoded);
  a.listener->on_response_body(std::string_view(*sink).substr(from));
  return true;
}

// The client's body so far, unframed (chunked or not); `ended`: it is complete.
std::string client_body(const Fixture& f, bool ended = true) {
  http::ResponseParser parser;
  std::string body;
  const http::ResponseFeed feed = parser.feed(f.client.out.data(), f.client.out.size(), &body);
  CHECK(feed.state == (ended ? http::ResponseState::Complete : http::ResponseState::NeedMore));
  CHECK(feed.consumed == f.client.out.size());
  return body;
}

TEST_CASE("in place: once the head is out, a read is decoded into the client's output and framed where it lies") {
  SUBCASE("a stream: chunks of events, a cut event held, then a continuation rewritten elsewhere") {
    Fixture f;
    start_with(f, "/v1/completions", R"({"model":"m","prompt":"Hi","max_tokens":6,"stream":true})");
    f.respond(f.attempt(0), kSse);
    const std::string first = completion_event("cmpl-1", "100", " the");
    CHECK_FALSE(read_body(f.attempt(0), first));  // the head goes out with it: not in place
    const std::string second = completion_event("cmpl-1", "100", " kv");
    const std::string third = completion_event("cmpl-1", "100", " is");
    REQUIRE(read_body(f.attempt(0), second));
    // One chunk, its size in the reserved field.
    char field[16];
    std::snprintf(field, sizeof field, "%08zx\r\n", second.size());
    CHECK(f.client.out.ends_with(field + second + "\r\n"));
    CHECK(read_body(f.attempt(0), ""));  // nothing decoded: nothing added
    CHECK(f.client.out.ends_with(field + second + "\r\n"));
    // A read that ends mid-event: the whole event relayed in place, the rest held.
    CHECK(read_body(f.attempt(0), third + second.substr(0, 25)));
    CHECK(f.client.out.ends_with(third + "\r\n"));
    // The next read completes it where it lands: the held start goes in front of it.
    REQUIRE(read_body(f.attempt(0), second.substr(25) + third.substr(0, 9)));
    CHECK(f.client.out.ends_with(field + second + "\r\n"));
    CHECK(read_body(f.attempt(0), third.substr(9, 3)));  // still no event end: nothing relayed
    CHECK(f.client.out.ends_with(field + second + "\r\n"));
    CHECK(client_body(f, false) == first + second + third + second);
    f.fail(f.attempt(0), FailureKind::Reset);
    REQUIRE(f.attempts() == 2);
    f.respond(f.attempt(1), kSse);
    // A continuation's events are rewritten: no sink offered.
    CHECK_FALSE(read_body(f.attempt(1), completion_event("cmpl-2", "107", " kv", "\"length\"") + "data: [DONE]\n\n"));
    f.attempt(1).listener->on_response_end(true);
    CHECK(client_body(f) == first + second + third + second + completion_event("cmpl-1", "100", " kv", "\"length\"") +
                                "data: [DONE]\n\n");
    CHECK(f.router.in_flight == 0);
  }
  SUBCASE("a JSON answer, with its length unframed or chunked to the client") {
    for (const std::string_view head : {kOkLength, kOkChunked}) {
      CAPTURE(head);
      Fixture f;
      f.start();
      f.respond(f.attempt(0), head);
      CHECK_FALSE(read_body(f.attempt(0), "0123"));  // the head goes out with it: not in place
      CHECK(read_body(f.attempt(0), "456"));
      CHECK(read_body(f.attempt(0), ""));
      CHECK(read_body(f.attempt(0), "789"));
      f.attempt(0).listener->on_response_end(true);
      CHECK(client_body(f) == "0123456789");
    }
  }
}

TEST_CASE("in place: a cut event's start is put in front of the next read up to 4 KiB, above it not") {
  for (const size_t held : {size_t(4096), size_t(4097)}) {
    CAPTURE(held);
    Fixture f;
    start_with(f, "/v1/completions", R"({"model":"m","prompt":"Hi","max_tokens":6,"stream":true})");
    f.respond(f.attempt(0), kSse);
    const std::string first = completion_event("cmpl-1", "100", " the");
    read_body(f.attempt(0), first);
    const std::string start = "data: {\"text\":\"" + std::string(held - 15, 'x');
    REQUIRE(start.size() == held);
    CHECK(read_body(f.attempt(0), start));  // whole events so far: none; the start is held
    CHECK(read_body(f.attempt(0), "\"}\n\n") == (held <= 4096));
    f.attempt(0).listener->on_response_end(true);
    CHECK(client_body(f) == first + start + "\"}\n\n");
  }
}

TEST_CASE("migration: a chat stream continues with the text so far as the assistant's own message") {
  Fixture f;
  start_with(f, "/v1/chat/completions",
             R"({"model":"m","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":8,"stream":true})");
  f.respond(f.attempt(0), kSse);
  f.attempt(0).listener->on_response_body(chat_event("chat-1", R"({"role":"assistant","content":""})") +
                                          chat_event("chat-1", R"({"content":"Hel"})") +
                                          chat_event("chat-1", R"({"content":"lo \"x\""})"));
  f.fail(f.attempt(0), FailureKind::ReadIdleTimeout);  // a stall
  REQUIRE(f.attempts() == 2);
  CHECK(sent_body(f.attempt(1)) ==
        R"({"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Hello \"x\""}],)"
        R"("stream":true,"max_completion_tokens":6,"continue_final_message":true,"add_generation_prompt":false})");
  f.respond(f.attempt(1), kSse);
  const size_t before = f.client.out.size();
  f.attempt(1).listener->on_response_body(chat_event("chat-2", R"({"role":"assistant","content":""})") +
                                          chat_event("chat-2", R"({"content":"!"})", "\"stop\"") + "data: [DONE]\n\n");
  f.attempt(1).listener->on_response_end(true);
  const std::string added = f.client.out.substr(before);
  CHECK(added.find("role") == std::string::npos);  // the client had its role chunk
  CHECK(added.find("\"id\":\"chat-1\"") != std::string::npos);
  CHECK(added.find("chat-2") == std::string::npos);
  CHECK(added.find(R"("content":"!")") != std::string::npos);
  CHECK(migrations(f, 0, "stall") == 1);
  CHECK(f.client.finished == 1);
}

TEST_CASE("migration: requests a continuation cannot carry exactly end with the error event, by reason") {
  struct Case {
    std::string_view body;
    std::string event;
    std::string_view reason;
  };
  const Case cases[] = {
      {R"({"model":"m","prompt":"p","n":2,"stream":true})", completion_event("c", "1", "a"), "several_choices"},
      {R"({"model":"m","prompt":"p","logprobs":1,"stream":true})", completion_event("c", "1", "a"), "logprobs"},
      {R"({"model":"m","prompt":"p","echo":true,"stream":true})", completion_event("c", "1", "a"), "echo"},
      {R"({"model":"m","prompt":"p","guided_json":{"type":"object"},"stream":true})", completion_event("c", "1", "a"),
       "guided_decoding"},
      {R"({"model":"m","prompt":[1,2],"stream":true})", completion_event("c", "1", "a"), "prompt_shape"},
      {R"({"model":"m","prompt":"p","max_tokens":1,"stream":true})", completion_event("c", "1", "a"), "nothing_left"},
      {R"({"model":"m","messages":[],"stream":true})",
       chat_event("c", R"({"tool_calls":[{"index":0,"function":{"name":"f"}}]})"), "tool_calls"},
      {R"({"model":"m","prompt":"p","stream":true})", completion_event("c", "1", "a", "\"stop\""), "finished"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.reason);
    Fixture f;
    start_with(f, c.reason == "tool_calls" ? "/v1/chat/completions" : "/v1/completions", c.body);
    f.respond(f.attempt(0), kSse);
    f.attempt(0).listener->on_response_body(c.event);
    f.fail(f.attempt(0), FailureKind::Reset);
    CHECK(f.attempts() == 1);
    CHECK(f.says("upstream_broken"));
    CHECK(f.client.out.ends_with("0\r\n\r\n"));
    CHECK(migrations(f, 1, c.reason) == 1);
    CHECK(f.counters.streams_broken.get() == 1);
    CHECK(f.router.in_flight == 0);
  }
}

TEST_CASE("migration: bounded per request, refused continuations and an empty pool end visibly") {
  SUBCASE("maxPerRequest") {
    Fixture f;
    f.router.endpoints = 5;
    f.options.migration.max_per_request = 2;
    start_with(f, "/v1/completions", R"({"model":"m","prompt":"p","max_tokens":50,"stream":true})");
    for (size_t i = 0; i < 3; ++i) {
      f.respond(f.attempt(i), kSse);
      f.attempt(i).listener->on_response_body(completion_event("c", "1", "a"));
      f.fail(f.attempt(i), FailureKind::Reset);
    }
    CHECK(f.attempts() == 3);
    CHECK(migrations(f, 0, "reset") == 2);
    CHECK(migrations(f, 1, "max_per_request") == 1);
    CHECK(sent_body(f.attempt(2)).find(R"("prompt":"paa")") != std::string::npos);  // the text of both legs
    CHECK(sent_body(f.attempt(2)).find(R"("max_tokens":48)") != std::string::npos);
    CHECK(f.says("upstream_broken"));
  }
  SUBCASE("every endpoint had a leg: back to one whose leg broke earlier, never to the last") {
    Fixture f;
    f.router.endpoints = 2;
    start_with(f, "/v1/completions", R"({"model":"m","prompt":"p","max_tokens":50,"stream":true})");
    for (size_t i = 0; i < 2; ++i) {
      f.respond(f.attempt(i), kSse);
      f.attempt(i).listener->on_response_body(completion_event("c", "1", "a"));
      f.fail(f.attempt(i), FailureKind::Reset);
    }
    REQUIRE(f.attempts() == 3);
    CHECK(f.attempt(2).endpoint == f.attempt(0).endpoint);
    CHECK(sent_body(f.attempt(2)).find(R"("prompt":"paa")") != std::string::npos);
    CHECK(migrations(f, 1, "no_endpoint") == 0);
  }
  SUBCASE("a continuation answered 400") {
    Fixture f;
    start_with(f, "/v1/completions", R"({"model":"m","prompt":"p","stream":true})");
    f.respond(f.attempt(0), kSse);
    f.attempt(0).listener->on_response_body(completion_event("c", "1", "a"));
    f.fail(f.attempt(0), FailureKind::Reset);
    f.respond(f.attempt(1), "HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n");
    CHECK(migrations(f, 1, "continuation_refused") == 1);
    CHECK(f.says("upstream_broken"));
    CHECK(f.client.finished == 1);
  }
  SUBCASE("no endpoint left, and a continuation whose first try cannot connect") {
    Fixture f;
    f.router.endpoints = 3;
    start_with(f, "/v1/completions", R"({"model":"m","prompt":"p","stream":true})");
    f.respond(f.attempt(0), kSse);
    f.attempt(0).listener->on_response_body(completion_event("c", "1", "a"));
    f.fail(f.attempt(0), FailureKind::Reset);
    f.fail(f.attempt(1), FailureKind::ConnectFailed);  // before its first byte: the next endpoint
    REQUIRE(f.attempts() == 3);
    CHECK(sent_body(f.attempt(2)) == sent_body(f.attempt(1)));
    f.fail(f.attempt(2), FailureKind::ConnectFailed);
    CHECK(migrations(f, 1, "no_endpoint") == 1);
    CHECK(f.says("no model server left"));
    CHECK(f.router.in_flight == 0);
  }
  SUBCASE("the client already had [DONE]: the body just ends") {
    Fixture f;
    start_with(f, "/v1/completions", R"({"model":"m","prompt":"p","stream":true})");
    f.respond(f.attempt(0), kSse);
    f.attempt(0).listener->on_response_body(completion_event("c", "1", "a", "\"length\"") + "data: [DONE]\n\n");
    f.fail(f.attempt(0), FailureKind::Reset);
    CHECK(f.attempts() == 1);
    CHECK(f.client.out.ends_with("data: [DONE]\n\n\r\n0\r\n\r\n"));
    CHECK(f.counters.streams_broken.get() == 0);
  }
}

TEST_CASE("migration: a non-streaming answer cut mid-body is not continued (cut visibly, never sent twice)") {
  Fixture f;
  start_with(f, "/v1/completions", R"({"model":"m","prompt":"p"})");
  f.respond(f.attempt(0), kOkLength);
  f.attempt(0).listener->on_response_body("01234");
  f.fail(f.attempt(0), FailureKind::Reset);
  CHECK(f.attempts() == 1);
  CHECK(f.client.aborted);
  CHECK(migrations(f, 1, "unsupported") == 0);  // not a stream: not a migration either
}

namespace {

const ModelCatalog& catalog_of_m() {
  static const ModelCatalog catalog({"m"});
  return catalog;
}

// A pool of decode pods 0..2 and prefill pods 10, 11; every decode pick leaves 600 tokens uncached.
void disaggregated(Fixture& f) {
  f.env.catalog = &catalog_of_m();  // "m" is a label of its own
  f.router.pd = true;
  f.router.prefill_ids = {10, 11};
  f.router.uncached = 600;
  f.options.disaggregation.non_cached_tokens = 512;
}

constexpr std::string_view kPrefillAnswer =
    R"({"id":"cmpl-p","choices":[{"text":"x"}],"kv_transfer_params":{"do_remote_prefill":true,)"
    R"("remote_block_ids":[1,2],"remote_engine_id":"e1","remote_host":"10.0.0.2","remote_port":9010}})";

void answer_prefill(Fixture& f, FakeChannel& a, std::string_view body = kPrefillAnswer) {
  f.respond(a, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " + std::to_string(body.size()) +
                   "\r\n\r\n");
  a.listener->on_response_body(body);
  a.listener->on_response_end(true);
}

uint64_t decisions(Fixture& f, bool split) {
  const metrics::SingleWriterCounter* c =
      f.stats.disaggregation.decisions.find(metrics::pd_decision_key("m", split, f.env.key_scratch));
  return c ? c->get() : 0;
}

}  // namespace

TEST_CASE("disaggregation: a long uncached prompt is prefilled on a prefill pod, then decoded with its params") {
  Fixture f;
  disaggregated(f);
  start_with(f, "/v1/chat/completions",
             R"({"model":"m","messages":[{"role":"user","content":"long"}],"stream":true,"max_tokens":50})");
  REQUIRE(f.attempts() == 1);
  CHECK(f.attempt(0).endpoint == 10);  // the prefill pod
  CHECK(sent_body(f.attempt(0)) ==
        R"({"model":"m","messages":[{"role":"user","content":"long"}],"stream":false,"max_tokens":1,)"
        R"("max_completion_tokens":1,"kv_transfer_params":{"do_remote_decode":true,"do_remote_prefill":false,)"
        R"("remote_engine_id":null,"remote_block_ids":null,"remote_host":null,"remote_port":null}})");
  CHECK(f.attempt(0).sent.find("content-length: " + std::to_string(sent_body(f.attempt(0)).size())) !=
        std::string::npos);
  CHECK(f.router.in_flight == 2);  // the decode pod's slot is held while the prefill runs
  CHECK(decisions(f, true) == 1);
  answer_prefill(f, f.attempt(0));
  CHECK(f.attempt(0).released_reusable);
  REQUIRE(f.attempts() == 2);
  CHECK(f.attempt(1).endpoint == 0);  // the decode pod picked first
  CHECK(sent_body(f.attempt(1)) ==
        R"({"model":"m","messages":[{"role":"user","content":"long"}],"stream":true,"max_tokens":50,)"
        R"("kv_transfer_params":{"do_remote_prefill":true,"remote_block_ids":[1,2],"remote_engine_id":"e1",)"
        R"("remote_host":"10.0.0.2","remote_port":9010}})");
  CHECK(f.client.out.empty());  // the client saw nothing of the prefill
  f.respond(f.attempt(1), kSse);
  f.attempt(1).listener->on_response_body("data: {\"x\":1}\n\n");
  f.attempt(1).listener->on_response_end(true);
  CHECK(f.status() == 200);
  CHECK(f.says("x-gateway-destination-endpoint: 10.0.0.1:8000\r\n"));
  CHECK(f.says("x-gateway-prefill-endpoint: 10.0.0.2:9010\r\n"));
  CHECK(f.router.in_flight == 0);
  CHECK(f.stats.disaggregation.leg_duration[0].count() == 1);
  CHECK(f.stats.disaggregation.leg_duration[1].count() == 1);
}

TEST_CASE("disaggregation: short or cached prompts, forms and other paths are decode-only") {
  Fixture f;
  disaggregated(f);
  f.router.uncached = 511;
  start_with(f, "/v1/completions", R"({"model":"m","prompt":"p"})");
  REQUIRE(f.attempts() == 1);
  CHECK(f.attempt(0).endpoint == 0);
  CHECK(sent_body(f.attempt(0)) == R"({"model":"m","prompt":"p"})");
  CHECK(decisions(f, false) == 1);
  CHECK(f.router.legs == std::vector<sched::PickLeg>{sched::PickLeg::Decode});
  SUBCASE("off: no decision counted") {
    Fixture g;
    g.env.catalog = &catalog_of_m();
    g.router.uncached = 5000;
    start_with(g, "/v1/completions", R"({"model":"m","prompt":"p"})");
    CHECK(g.attempt(0).endpoint == 0);
    CHECK(decisions(g, false) + decisions(g, true) == 0);
  }
  SUBCASE("no prefill pod to split to") {
    Fixture g;
    disaggregated(g);
    g.router.prefill_ids.clear();
    start_with(g, "/v1/completions", R"({"model":"m","prompt":"p"})");
    REQUIRE(g.attempts() == 1);
    CHECK(g.attempt(0).endpoint == 0);
    CHECK(decisions(g, false) == 1);
    CHECK(g.router.in_flight == 1);
  }
}

TEST_CASE("disaggregation: nonCachedTokens at its boundary: one below stays whole, at it and one above split") {
  struct Row {
    uint32_t uncached;
    bool split;
  };
  for (const Row row : {Row{511, false}, Row{512, true}, Row{513, true}}) {
    CAPTURE(row.uncached);
    Fixture f;
    disaggregated(f);  // nonCachedTokens 512
    f.router.uncached = row.uncached;
    start_with(f, "/v1/completions", R"({"model":"m","prompt":"p"})");
    REQUIRE(f.attempts() == 1);
    CHECK((f.attempt(0).endpoint == 10) == row.split);  // a prefill pod first, or the decode pod alone
    CHECK(decisions(f, row.split) == 1);
    CHECK(decisions(f, !row.split) == 0);
    f.exchange->client_gone();
    CHECK(f.router.in_flight == 0);
  }
}

TEST_CASE("disaggregation: a failed prefill is tried once more elsewhere, then the request is decode-only") {
  Fixture f;
  disaggregated(f);
  start_with(f, "/v1/completions", R"({"model":"m","prompt":"p","stream":true})");
  REQUIRE(f.attempt(0).endpoint == 10);
  SUBCASE("the second prefill pod answers") {
    f.fail(f.attempt(0), FailureKind::ConnectFailed);
    REQUIRE(f.attempts() == 2);
    CHECK(f.attempt(1).endpoint == 11);
    CHECK(sent_body(f.attempt(1)) == sent_body(f.attempt(0)));
    answer_prefill(f, f.attempt(1));
    REQUIRE(f.attempts() == 3);
    CHECK(f.attempt(2).endpoint == 0);
    CHECK(sent_body(f.attempt(2)).find("\"kv_transfer_params\":{\"do_remote_prefill\":true") != std::string::npos);
    CHECK(f.stats.disaggregation.prefill_failures[size_t(PrefillFailure::ConnectFailed)].get() == 1);
  }
  SUBCASE("both fail: decode-only, the client's own body") {
    f.fail(f.attempt(0), FailureKind::Reset);
    f.respond(f.attempt(1), k503);
    REQUIRE(f.attempts() == 3);
    CHECK(f.attempt(2).endpoint == 0);
    CHECK(sent_body(f.attempt(2)) == R"({"model":"m","prompt":"p","stream":true})");
    CHECK(f.stats.disaggregation.decode_only_fallbacks.get() == 1);
    CHECK(f.stats.disaggregation.prefill_failures[size_t(PrefillFailure::ErrorStatus)].get() == 1);
    CHECK(f.router.in_flight == 1);  // the prefill pods' slots are given back
    f.respond(f.attempt(2), kSse);
    f.attempt(2).listener->on_response_end(true);
    CHECK(f.status() == 200);
    CHECK_FALSE(f.says("x-gateway-prefill-endpoint"));
  }
  SUBCASE("a 4xx is the request's fault: decode-only at once, the decode pod answers it") {
    f.respond(f.attempt(0), "HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n");
    REQUIRE(f.attempts() == 2);
    CHECK(f.attempt(1).endpoint == 0);
  }
  SUBCASE("an answer without kv_transfer_params: decode-only") {
    answer_prefill(f, f.attempt(0), R"({"id":"x","choices":[]})");
    REQUIRE(f.attempts() == 2);
    CHECK(f.attempt(1).endpoint == 0);
    CHECK(f.stats.disaggregation.prefill_failures[size_t(PrefillFailure::NoParams)].get() == 1);
  }
  SUBCASE("an answer longer than PrefillLeg::kMaxAnswerBytes: read no further, decode-only") {
    f.respond(f.attempt(0), "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n");
    const std::string chunk(64 * 1024, ' ');
    for (size_t sent = 0; sent <= PrefillLeg::kMaxAnswerBytes && !f.attempt(0).released; sent += chunk.size())
      f.attempt(0).listener->on_response_body(chunk);
    CHECK(f.attempt(0).released);
    REQUIRE(f.attempts() == 2);
    CHECK(f.attempt(1).endpoint == 0);
    CHECK(sent_body(f.attempt(1)) == R"({"model":"m","prompt":"p","stream":true})");
    CHECK(f.stats.disaggregation.prefill_failures[size_t(PrefillFailure::Malformed)].get() == 1);
  }
  SUBCASE("a prefill slower than prefillTimeout: decode-only") {
    f.options.disaggregation.prefill_timeout_ms = 100;  // (armed at start with the default: run past it)
    f.now += 30000;
    f.timers.run(f.now);
    REQUIRE(f.attempts() == 2);
    CHECK(f.attempt(0).released);
    CHECK(f.attempt(1).endpoint == 0);
    CHECK(f.stats.disaggregation.prefill_failures[size_t(PrefillFailure::Timeout)].get() == 1);
  }
  SUBCASE("the decode leg fails before its first byte: another decode pod, the same params") {
    answer_prefill(f, f.attempt(0));
    f.fail(f.attempt(1), FailureKind::ConnectFailed);
    REQUIRE(f.attempts() == 3);
    CHECK(f.attempt(2).endpoint == 1);
    CHECK(sent_body(f.attempt(2)) == sent_body(f.attempt(1)));
    CHECK(f.router.legs.back() == sched::PickLeg::Decode);
  }
}

TEST_CASE("disaggregation: a client that leaves mid-prefill cancels the prefill leg and frees both slots") {
  Fixture f;
  disaggregated(f);
  start_with(f, "/v1/completions", R"({"model":"m","prompt":"p"})");
  REQUIRE(f.attempts() == 1);
  f.exchange->client_gone();
  CHECK(f.attempt(0).released);
  CHECK_FALSE(f.attempt(0).released_reusable);
  CHECK(f.router.in_flight == 0);
  CHECK(f.attempts() == 1);  // no decode leg
  f.now += 60000;
  f.timers.run(f.now);  // the prefill timer was cancelled with it
  CHECK(f.attempts() == 1);
}

TEST_CASE("disaggregation in EPP mode: the named prefill pod counts the leg until the decode pod answers") {
  // The sidecar sends the prefill leg: the pick names the pod, and its slot, token load and
  // pending prefill are held as the gateway's own prefill Attempt holds them.
  Fixture f;
  disaggregated(f);
  f.env.sends_prefill_leg = false;
  start_with(f, "/v1/completions", R"({"model":"m","prompt":"p","stream":true})");
  REQUIRE(f.attempts() == 1);
  CHECK(f.attempt(0).endpoint == 0);  // the decode pod, straight away
  CHECK(f.exchange->prefill_endpoint() == "10.0.0.2:9010");
  CHECK(f.router.in_flight == 2);
  CHECK(f.router.load_tokens[10] == 3010);
  CHECK(f.router.prefill[10] == 710);
  CHECK(f.router.awaiting[10] == 1);
  SUBCASE("the decode pod's answer begins: the prefill pod's share is given back, the decode's stays") {
    f.respond(f.attempt(0), kSse);
    CHECK(f.router.in_flight == 1);
    CHECK(f.router.load_tokens[10] == 0);
    CHECK(f.router.prefill[10] == 0);
    CHECK(f.router.awaiting[10] == 0);
    f.attempt(0).listener->on_response_end(false);
  }
  SUBCASE("the stream ends before any answer") { f.exchange->client_gone(); }
  CHECK(f.router.in_flight == 0);
  CHECK(f.router.load_in_flight() == 0);
  CHECK(f.router.prefill_in_flight() == 0);
  CHECK(f.router.awaiting[10] == 0);
}

TEST_CASE("disaggregation: a sheddable request's slots are claimed and given back as sheddable, both legs") {
  Fixture f;
  disaggregated(f);
  f.rules.sheddable_objectives.insert("batch");
  f.request = http::Request{};
  f.request.method = HTTP_POST;
  f.request.target = "/v1/completions";
  f.request.headers.push_back({"host", "gw"});
  f.request.headers.push_back({"x-gateway-inference-objective", "batch"});
  f.request.body = std::string(R"({"model":"m","prompt":"p"})");
  f.exchange->start(f.request, true, true, f.now);
  REQUIRE(f.attempts() == 1);
  CHECK(f.router.sheddable_in_flight == 2);
  SUBCASE("served") {
    answer_prefill(f, f.attempt(0));
    f.respond(f.attempt(1), kOkLength);
    f.attempt(1).listener->on_response_end(true);
  }
  SUBCASE("the client leaves mid-prefill") { f.exchange->client_gone(); }
  CHECK(f.router.in_flight == 0);
  CHECK(f.router.sheddable_in_flight == 0);
}

namespace {

// Hedging on, a budget that never runs out, every pick predicted with 10% TTFT headroom.
void hedging_on(Fixture& f, double max_extra_load = 1.0) {
  f.options.hedging.enabled = true;
  f.options.hedging.max_extra_load = max_extra_load;
  f.options.hedging.headroom = 0.2;
  f.router.ttft_headroom = 0.1;
}

}  // namespace

TEST_CASE("hedging: a tight stream goes to two servers; the first to stream a token is kept, the other never heard") {
  Fixture f;
  hedging_on(f);
  f.start(/*stream=*/true);
  REQUIRE(f.attempts() == 2);
  CHECK(f.attempt(0).endpoint == 0);
  CHECK(f.attempt(1).endpoint == 1);
  CHECK(f.attempt(1).sent == f.attempt(0).sent);  // the same request
  CHECK(f.router.in_flight == 2);
  f.respond(f.attempt(0), kSse);
  f.respond(f.attempt(1), kSse);
  f.attempt(0).listener->on_response_body("data: {\"from\":\"first\"");  // half an event: not yet a token
  CHECK(f.client.out.empty());
  SUBCASE("the hedge streams first") {
    f.attempt(1).listener->on_response_body("data: {\"from\":\"hedge\"}\n\ndata: {\"n\":2");
    CHECK(f.attempt(0).released);  // cancelled at once
    CHECK_FALSE(f.attempt(1).released);
    CHECK(f.says("x-gateway-destination-endpoint: 10.0.0.1:8001"));
    CHECK(f.says(R"({"from":"hedge"})"));
    CHECK_FALSE(f.says("first"));
    f.attempt(1).listener->on_response_body("}\n\ndata: [DONE]\n\n");
    f.attempt(1).listener->on_response_end(true);
    CHECK(f.says(R"({"n":2})"));
    CHECK(f.counters.hedged_requests[size_t(HedgeResult::Hedge)].get() == 1);
  }
  SUBCASE("the first pick streams first") {
    f.attempt(0).listener->on_response_body("}\n\n");
    CHECK(f.attempt(1).released);
    f.attempt(1).listener = nullptr;  // a released channel reports nothing more
    CHECK(f.says("x-gateway-destination-endpoint: 10.0.0.1:8000"));
    CHECK(f.says(R"({"from":"first"})"));
    f.attempt(0).listener->on_response_end(true);
    CHECK(f.counters.hedged_requests[size_t(HedgeResult::Primary)].get() == 1);
  }
  CHECK(f.client.finished == 1);
  CHECK(f.status() == 200);
  CHECK(f.router.in_flight == 0);
  CHECK(f.router.prefill_in_flight() == 0);
  CHECK(f.exchange->attempts() == 2);
  CHECK(f.counters.upstream_retries.get() == 0);  // a hedge is not a retry
}

TEST_CASE("hedging: one side failing or refusing before either streamed leaves the other to answer alone") {
  for (int how = 0; how < 3; ++how) {
    CAPTURE(how);
    Fixture f;
    hedging_on(f);
    f.start(/*stream=*/true);
    REQUIRE(f.attempts() == 2);
    if (how != 1) {
      f.respond(f.attempt(1), kSse);
      f.attempt(1).listener->on_response_body("data: {\"from\":");  // held
    }
    if (how == 0) f.fail(f.attempt(1), FailureKind::Reset);
    if (how == 1) f.respond(f.attempt(1), k503);
    if (how == 2) f.fail(f.attempt(0), FailureKind::Reset);
    FakeChannel& survivor = f.attempt(how == 2 ? 1 : 0);
    FakeChannel& gone = f.attempt(how == 2 ? 0 : 1);
    CHECK(gone.released);
    CHECK(f.attempts() == 2);  // no third attempt: the other one is the retry
    CHECK(f.counters.hedged_requests[size_t(HedgeResult::Failover)].get() == 1);
    if (how != 2) f.respond(survivor, kSse);
    survivor.listener->on_response_body(how == 2 ? "\"hedge\"}\n\n" : "data: {\"from\":\"first\"}\n\n");
    survivor.listener->on_response_end(true);
    CHECK(f.status() == 200);
    CHECK(f.says(how == 2 ? R"({"from":"hedge"})" : R"({"from":"first"})"));
    CHECK(f.router.in_flight == 0);
  }
}

TEST_CASE("hedging: the hedge's server counts as tried: a retry after both sides failed goes to a third") {
  Fixture f;
  hedging_on(f);
  f.start(/*stream=*/true);
  REQUIRE(f.attempts() == 2);
  f.fail(f.attempt(0), FailureKind::Reset);  // the first pick: its rival, the hedge, is its retry
  REQUIRE(f.attempts() == 2);
  f.respond(f.attempt(1), k503);  // the hedge, alone now, refuses: elsewhere, but not to itself
  REQUIRE(f.attempts() == 3);
  CHECK(f.attempt(2).endpoint == 2);
  f.respond(f.attempt(2), kSse);
  f.attempt(2).listener->on_response_body("data: [DONE]\n\n");
  f.attempt(2).listener->on_response_end(true);
  CHECK(f.status() == 200);
  CHECK(f.router.in_flight == 0);
}

TEST_CASE("hedging: an answer that is no event stream is held at most 64 KiB, then kept as it is") {
  Fixture f;
  hedging_on(f);
  f.start(/*stream=*/true);
  REQUIRE(f.attempts() == 2);
  f.respond(f.attempt(0), kSse);
  const std::string chunk(16 * 1024, 'x');  // no blank line anywhere: no whole event
  for (int i = 0; i < 4; ++i) f.attempt(0).listener->on_response_body(chunk);
  CHECK(f.client.out.empty());  // 64 KiB held, nothing decided
  CHECK_FALSE(f.attempt(1).released);
  f.attempt(0).listener->on_response_body("x");
  CHECK(f.attempt(1).released);  // past the bound: kept, the rival cancelled
  CHECK(f.says("xxxx"));
  CHECK(f.counters.hedged_requests[size_t(HedgeResult::Primary)].get() == 1);
  f.attempt(0).listener->on_response_end(true);
  CHECK(f.router.in_flight == 0);
}

TEST_CASE("hedging: a client that leaves mid-race cancels both; a request timeout ends both") {
  Fixture f;
  hedging_on(f);
  f.start(/*stream=*/true);
  REQUIRE(f.attempts() == 2);
  f.respond(f.attempt(0), kSse);
  f.exchange->client_gone();
  CHECK(f.attempt(0).released);
  CHECK(f.attempt(1).released);
  CHECK(f.router.in_flight == 0);
  CHECK(f.counters.hedged_requests[size_t(HedgeResult::Abandoned)].get() == 1);
  CHECK(f.counters.client_disconnects_mid_response.get() == 1);
}

TEST_CASE("hedging: only tight streams are hedged, and never past maxExtraLoad") {
  SUBCASE("headroom to spare, a plain answer, or hedging off: one attempt") {
    for (int how = 0; how < 3; ++how) {
      Fixture f;
      hedging_on(f);
      if (how == 0) f.router.ttft_headroom = 0.5;
      if (how == 2) f.options.hedging.enabled = false;
      f.start(/*stream=*/how != 1);
      CHECK(f.attempts() == 1);
    }
  }
  SUBCASE("the budget") {
    Fixture f;
    hedging_on(f, 0.05);
    size_t hedges = 0;
    for (int i = 0; i < 200; ++i) {
      const size_t before = f.attempts();
      f.start(/*stream=*/true);
      hedges += f.attempts() - before - 1;
      f.exchange->client_gone();
    }
    CHECK(hedges == 10);  // 5% of 200, not one more
    CHECK(f.counters.hedges_over_budget.get() == 190);
    CHECK(f.router.in_flight == 0);
  }
}

TEST_CASE("hedging: headroom at its boundary: hedged just below it, not at it nor above") {
  struct Row {
    double ttft_headroom;  // the pick's predicted headroom
    bool hedged;
  };
  const double h = 0.25;  // hedging.headroom
  for (const Row row : {Row{std::nextafter(h, 0.0), true}, Row{h, false}, Row{std::nextafter(h, 1.0), false}}) {
    CAPTURE(row.ttft_headroom);
    Fixture f;
    hedging_on(f);  // maxExtraLoad 1: the budget never refuses
    f.options.hedging.headroom = h;
    f.router.ttft_headroom = row.ttft_headroom;
    f.start(/*stream=*/true);
    CHECK(f.attempts() == (row.hedged ? 2u : 1u));
    f.exchange->client_gone();
    CHECK(f.router.in_flight == 0);
  }
}

TEST_CASE("hedging: a long quiet spell banks at most HedgeBudget::kSaved hedges for a burst") {
  // The budget is earned per request dispatched, not per second: idle time earns nothing,
  // and a long run of requests that wanted no hedge (headroom to spare) is the quiet spell.
  Fixture f;
  hedging_on(f, 0.05);
  f.router.ttft_headroom = 0.5;     // not tight: earns, never hedges
  for (int i = 0; i < 2000; ++i) {  // 100 hedges' worth earned
    f.start(/*stream=*/true);
    REQUIRE(f.attempts() == size_t(i + 1));
    f.exchange->client_gone();
  }
  f.router.ttft_headroom = 0.1;  // now every request is tight
  size_t hedges = 0;
  for (int i = 0; i < 10; ++i) {  // the burst earns 0.5 more: not a whole hedge
    const size_t before = f.attempts();
    f.start(/*stream=*/true);
    hedges += f.attempts() - before - 1;
    f.exchange->client_gone();
  }
  CHECK(hedges == size_t(HedgeBudget::kSaved));
  CHECK(f.counters.hedges_over_budget.get() == 10 - uint64_t(HedgeBudget::kSaved));
  CHECK(f.router.in_flight == 0);
}

TEST_CASE("in-flight accounting: after a mix of requests on one exchange every slot is back") {
  Fixture f;
  f.options.migration.enabled = true;
  auto ok = [&](FakeChannel& a) {
    f.respond(a, kOkLength);
    a.listener->on_response_body("0123456789");
    a.listener->on_response_end(true);
  };
  // 1: answered at once
  f.start();
  ok(f.last());
  CHECK(f.router.in_flight == 0);
  // 2: no connection, then another endpoint answers
  f.start();
  f.fail(f.last(), FailureKind::ConnectFailed);
  ok(f.last());
  CHECK(f.router.in_flight == 0);
  // 3: a 503 head retried elsewhere
  f.start();
  f.respond(f.last(), k503);
  ok(f.last());
  CHECK(f.router.in_flight == 0);
  // 4: a stream that breaks mid-way and is continued on another endpoint
  f.start(/*stream=*/true);
  f.respond(f.last(), kSse);
  f.last().listener->on_response_body(
      R"(data: {"id":"c","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":"a","logprobs":null,"finish_reason":null}]})"
      "\n\n");
  const size_t before = f.attempts();
  f.fail(f.last(), FailureKind::Reset);
  REQUIRE(f.attempts() == before + 1);  // the continuation
  f.respond(f.last(), kSse);
  f.last().listener->on_response_body("data: [DONE]\n\n");
  f.last().listener->on_response_end(true);
  CHECK(f.router.in_flight == 0);
  // 5: every endpoint fails: 502
  f.start();
  for (int i = 0; i < 3 && f.exchange->active(); ++i) f.fail(f.last(), FailureKind::ConnectFailed);
  CHECK_FALSE(f.exchange->active());
  CHECK(f.router.in_flight == 0);
  // 6: the client leaves mid-answer
  f.start();
  f.respond(f.last(), kOkLength);
  f.exchange->client_gone();
  CHECK(f.router.in_flight == 0);
  CHECK(f.router.sheddable_in_flight == 0);
}

// Issue 71: every kind of routed leg, through each way it ends, gives back everything its
// ticket held (slot, sheddable slot, token load, pending prefill, awaiting count), and its
// prompt is recorded at each endpoint it was sent to once.
TEST_CASE("route tickets: every leg kind, however it ends, gives back all it held; each leg's prompt recorded once") {
  Fixture f;
  f.options.migration.enabled = true;
  auto idle = [&] {
    CHECK(f.router.in_flight == 0);
    CHECK(f.router.sheddable_in_flight == 0);
    CHECK(f.router.load_in_flight() == 0);
    CHECK(f.router.prefill_in_flight() == 0);
    for (const auto& [id, n] : f.router.awaiting) CHECK(n == 0);
  };
  auto ok = [&](FakeChannel& a) {
    f.respond(a, kOkLength);
    a.listener->on_response_body("0123456789");
    a.listener->on_response_end(true);
  };
  SUBCASE("plain: answered") {
    f.start();
    CHECK(f.router.load_in_flight() > 0);
    ok(f.last());
    CHECK(f.router.recorded == std::vector<uint32_t>{0});
  }
  SUBCASE("plain: every endpoint fails (a retry each)") {
    f.start();
    for (int i = 0; i < 3 && f.exchange->active(); ++i) f.fail(f.last(), FailureKind::ConnectFailed);
    CHECK_FALSE(f.exchange->active());
    CHECK(f.router.recorded == std::vector<uint32_t>{0, 1, 2});
  }
  SUBCASE("plain: a stale pooled connection, then a fresh one to the same endpoint") {
    f.upstreams.pooled = 1;
    f.start();
    REQUIRE(f.attempt(0).is_reused);
    f.fail(f.attempt(0), FailureKind::Reset);
    REQUIRE(f.attempts() == 2);
    CHECK(f.router.in_flight == 1);
    ok(f.last());
    CHECK(f.router.recorded == std::vector<uint32_t>{0});  // the same leg: recorded once
    // ... on a connection of a new generation (the stale one's callbacks are told apart)
    REQUIRE(f.upstreams.generations.size() == 2);
    CHECK(f.upstreams.generations[0] != 0);
    CHECK(f.upstreams.generations[1] != f.upstreams.generations[0]);
  }
  SUBCASE("plain: the client leaves mid-answer") {
    f.start(/*stream=*/true);
    f.respond(f.last(), kSse);
    f.exchange->client_gone();
  }
  SUBCASE("plain: the request timeout cancels it") {
    f.options.request_timeout_ms = 1000;
    f.start();
    f.now += 1000;
    f.timers.run(f.now);
    CHECK_FALSE(f.exchange->active());
  }
  SUBCASE("migration: a stream continued elsewhere") {
    f.start(/*stream=*/true);
    f.respond(f.last(), kSse);
    f.last().listener->on_response_body(R"(data: {"id":"c","object":"text_completion","created":1,"model":"m",)"
                                        R"("choices":[{"index":0,"text":"a","logprobs":null,"finish_reason":null}]})"
                                        "\n\n");
    f.fail(f.last(), FailureKind::Reset);
    f.respond(f.last(), kSse);
    f.last().listener->on_response_body("data: [DONE]\n\n");
    f.last().listener->on_response_end(true);
    CHECK(f.router.recorded == std::vector<uint32_t>{0, 1});
  }
  SUBCASE("hedge: the hedge wins, the first is cancelled") {
    hedging_on(f);
    f.start(/*stream=*/true);
    REQUIRE(f.attempts() == 2);
    f.respond(f.attempt(1), kSse);
    f.attempt(1).listener->on_response_body("data: {\"n\":1}\n\ndata: [DONE]\n\n");
    f.attempt(1).listener->on_response_end(true);
    CHECK(f.router.recorded == std::vector<uint32_t>{0, 1});
  }
  SUBCASE("hedge: the client leaves mid-race") {
    hedging_on(f);
    f.start(/*stream=*/true);
    REQUIRE(f.attempts() == 2);
    f.exchange->client_gone();
  }
  SUBCASE("P/D: prefill leg, then the decode leg held in its reservation") {
    disaggregated(f);
    start_with(f, "/v1/completions", R"({"model":"m","prompt":"p","stream":true})");
    REQUIRE(f.attempts() == 1);
    answer_prefill(f, f.attempt(0));
    REQUIRE(f.attempts() == 2);
    f.respond(f.attempt(1), kSse);
    f.attempt(1).listener->on_response_body("data: [DONE]\n\n");
    f.attempt(1).listener->on_response_end(true);
    // the decode pod's at the split (it will hold the blocks it pulls), the prefill pod's at its send
    CHECK(f.router.recorded == std::vector<uint32_t>{0, 10});
  }
  SUBCASE("P/D: the prefill leg fails (and its retry): decode-only") {
    disaggregated(f);
    start_with(f, "/v1/completions", R"({"model":"m","prompt":"p"})");
    while (f.attempts() < 3 && f.last().endpoint >= 10) f.fail(f.last(), FailureKind::ConnectFailed);
    REQUIRE(f.last().endpoint < 10);
    ok(f.last());
  }
  SUBCASE("P/D: the client leaves mid-prefill") {
    disaggregated(f);
    start_with(f, "/v1/completions", R"({"model":"m","prompt":"p"})");
    f.exchange->client_gone();
  }
  SUBCASE("P/D in EPP mode: the remote prefill, then the decode answer") {
    disaggregated(f);
    f.env.sends_prefill_leg = false;
    start_with(f, "/v1/completions", R"({"model":"m","prompt":"p","stream":true})");
    f.respond(f.attempt(0), kSse);
    f.attempt(0).listener->on_response_end(false);
    CHECK(f.router.recorded == std::vector<uint32_t>{10, 0});
  }
  SUBCASE("P/D in EPP mode: the stream ends before any answer") {
    disaggregated(f);
    f.env.sends_prefill_leg = false;
    start_with(f, "/v1/completions", R"({"model":"m","prompt":"p","stream":true})");
    f.exchange->client_gone();
  }
  idle();
}
