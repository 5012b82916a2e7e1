#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "ringgate/http/request_parser.h"
#include "ringgate/proxy/forward_head.h"
#include "ringgate/proxy/hop_count.h"
#include "ringgate/proxy/model_catalog.h"
#include "ringgate/proxy/request_router.h"
#include "ringgate/sched/endpoint_snapshot.h"

#include <arpa/inet.h>
#include <netinet/in.h>

using namespace ringgate;

TEST_CASE("forwarded request head drops hop-by-hop fields and reframes the body") {
  http::RequestParser parser;
  const std::string bytes =
      "POST /v1/completions HTTP/1.1\r\nHost: gw\r\nConnection: keep-alive, x-secret\r\nX-Secret: 1\r\n"
      "Keep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\nAuthorization: Bearer k\r\n\r\n"
      "2\r\n{}\r\n0\r\n\r\n";
  REQUIRE(parser.feed(bytes.data(), bytes.size()).state == http::ParseState::Complete);
  std::string head;
  proxy::build_upstream_head(head, parser.request(), "rid-1", true, 2);
  CHECK(head ==
        "POST /v1/completions HTTP/1.1\r\nhost: gw\r\nauthorization: Bearer k\r\nx-ringgate-hops: 1\r\n"
        "x-request-id: rid-1\r\ncontent-length: 2\r\n\r\n");
}

TEST_CASE("a forwarded request carries one hop more than it came with (hub.maxHops, loops)") {
  http::RequestParser parser;
  const std::string bytes =
      "POST /v1/completions HTTP/1.1\r\nHost: gw\r\nX-Ringgate-Hops: 2\r\nContent-Length: 0\r\n\r\n";
  REQUIRE(parser.feed(bytes.data(), bytes.size()).state == http::ParseState::Complete);
  std::string head;
  proxy::build_upstream_head(head, parser.request(), "rid-1", false, 0);
  CHECK(head == "POST /v1/completions HTTP/1.1\r\nhost: gw\r\nx-ringgate-hops: 3\r\ncontent-length: 0\r\n\r\n");
}

TEST_CASE("x-ringgate-hops: a number up to 1000, nothing else") {
  CHECK(proxy::parse_hops("") == 0u);
  CHECK(proxy::parse_hops("0") == 0u);
  CHECK(proxy::parse_hops("17") == 17u);
  CHECK(proxy::parse_hops("1000") == 1000u);
  CHECK_FALSE(proxy::parse_hops("1001"));
  CHECK_FALSE(proxy::parse_hops("00001"));
  for (const char* bad : {"-1", "+1", " 1", "1,2", "x", "1.0"}) {
    CAPTURE(bad);
    CHECK_FALSE(proxy::parse_hops(bad));
  }
}

TEST_CASE("client response head: framing by upstream length and client version") {
  http::ResponseParser response;
  std::string body;
  const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n"
                              "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n";
  response.feed(chunked.data(), chunked.size(), &body);
  CHECK(proxy::choose_framing(response, true) == proxy::ClientFraming::Chunked);
  CHECK(proxy::choose_framing(response, false) == proxy::ClientFraming::CloseDelimited);
  std::string head;
  proxy::build_client_head(head, response, proxy::ClientFraming::Chunked, false, "rid");
  CHECK(head ==
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nx-request-id: rid\r\n\r\n");

  http::ResponseParser sized;
  const std::string fixed = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nx-request-id: up\r\n\r\n{}";
  sized.feed(fixed.data(), fixed.size(), &body);
  head.clear();
  proxy::build_client_head(head, sized, proxy::choose_framing(sized, false), true, "rid");
  CHECK(head == "HTTP/1.1 200 OK\r\nx-request-id: up\r\ncontent-length: 2\r\nconnection: close\r\n\r\n");
}

TEST_CASE("TE, Trailer, Upgrade and Proxy-* are hop-by-hop both ways: trailers are never announced to a peer") {
  http::RequestParser parser;
  const std::string bytes =
      "POST /v1/completions HTTP/1.1\r\nHost: gw\r\nTE: trailers\r\nTrailer: x-checksum\r\nUpgrade: h2c\r\n"
      "Proxy-Authorization: Basic eA==\r\nProxy-Connection: keep-alive\r\nContent-Length: 2\r\n\r\n{}";
  REQUIRE(parser.feed(bytes.data(), bytes.size()).state == http::ParseState::Complete);
  std::string head;
  proxy::build_upstream_head(head, parser.request(), "rid-2", true, 2);
  CHECK(head ==
        "POST /v1/completions HTTP/1.1\r\nhost: gw\r\nx-ringgate-hops: 1\r\nx-request-id: rid-2\r\n"
        "content-length: 2\r\n\r\n");

  http::ResponseParser response;
  std::string body;
  const std::string upstream = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-usage\r\nTE: trailers\r\n"
                               "Proxy-Authenticate: Basic\r\nUpgrade: h2c\r\nContent-Type: text/event-stream\r\n\r\n";
  response.feed(upstream.data(), upstream.size(), &body);
  head.clear();
  proxy::build_client_head(head, response, proxy::ClientFraming::Chunked, false, "rid");
  CHECK(head ==
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nx-request-id: rid\r\n\r\n");
}

TEST_CASE("chunks are framed; empty data writes nothing") {
  std::string out;
  proxy::append_chunk(out, "");
  CHECK(out.empty());
  proxy::append_chunk(out, std::string(26, 'x'));
  CHECK(out == "1a\r\n" + std::string(26, 'x') + "\r\n");
}

namespace {
sched::EndpointState endpoint(sched::EndpointId id, uint16_t port, std::vector<std::string> models, bool routable) {
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
  e.models = std::move(models);
  e.routable = routable;
  return e;
}
}  // namespace

TEST_CASE("router: schedules over the published snapshot; 404, 503 and 502 as errors") {
  sched::SnapshotPublisher publisher(1);
  sched::PrefixIndex index;
  sched::InflightCounters inflight;
  inflight.ensure(0);
  inflight.ensure(1);
  std::vector<sched::EndpointState> states;
  states.push_back(endpoint(0, 1001, {"m"}, true));
  states.push_back(endpoint(1, 1002, {"m", "other"}, true));
  states.push_back(endpoint(2, 1003, {"down"}, false));
  publisher.publish(std::make_unique<sched::EndpointSnapshot>(std::move(states)));
  metrics::WorkerStats stats;
  proxy::RouterShared shared;
  shared.publisher = &publisher;
  shared.index = &index;
  shared.inflight = &inflight;
  proxy::RequestRouter router(shared, 0, stats);
  router.refresh();

  proxy::RouteRequest request;
  request.model = request.stats_target = "other";
  proxy::RouteDecision d = router.route(request);
  REQUIRE(d.status == 0);
  CHECK(d.endpoint_id == 1);
  CHECK(d.endpoint_host == "127.0.0.1");
  CHECK(d.endpoint_port == 1002);
  CHECK(d.address.port() == 1002);

  // In-flight load steers "m" away from a busy endpoint.
  for (int i = 0; i < 20; ++i) inflight.add(1);
  request.model = request.stats_target = "m";
  CHECK(router.route(request).endpoint_id == 0);
  const uint32_t both[] = {0, 1};
  request.exclude = both;
  CHECK(router.route(request).status == 502);
  request.exclude = {};
  request.model = request.stats_target = "missing";
  CHECK(router.route(request).status == 404);
  request.model = request.stats_target = "down";
  CHECK(router.route(request).status == 503);

  // No routable server at all: the pool is unavailable (503), even for a model
  // name no server reported.
  std::vector<sched::EndpointState> down;
  down.push_back(endpoint(3, 1004, {}, false));
  publisher.publish(std::make_unique<sched::EndpointSnapshot>(std::move(down)));
  router.refresh();
  request.model = request.stats_target = "anything";
  CHECK(router.route(request).status == 503);
  // scheduler_attempts_total: one per decision, keyed by status, target and endpoint.
  uint64_t success = 0, failure = 0;
  stats.scheduler_attempts.for_each([&](std::string_view key, const util::SingleWriterCounter& c) {
    std::array<std::string_view, 3> parts;  // status, target, endpoint id
    if (!metrics::split_key(key, parts)) return;  // the table's overflow entry
    (parts[0] == "s" ? success : failure) += c.get();
  });
  CHECK(success == 2);
  CHECK(failure == 4);
  std::string scratch;
  CHECK(stats.scheduler_attempts.find_or_add(metrics::attempt_key(false, "anything", 0, scratch)).get() == 1);
  CHECK(stats.scheduler_attempts.find_or_add(metrics::attempt_key(true, "other", 1, scratch)).get() == 1);

  // A retry's decision is not a new scheduling attempt of the request.
  request.first_attempt = false;
  router.route(request);
  CHECK(stats.scheduler_attempts.find_or_add(metrics::attempt_key(false, "anything", 0, scratch)).get() == 1);
}

// maxConcurrency 4 with a headroom of 2 leaves sheddable requests two slots, minus what
// the other replicas hold there (sharedState). Two workers route sheddable requests at
// once, each holding its slot a moment: the requests counted in flight as placed may
// never exceed what is left, though each worker reads the shared counts before the
// other's claim lands. Returns the most placed at once.
static int race_for_last_slots(int64_t remote_inflight) {
  sched::SnapshotPublisher publisher(2);
  sched::PrefixIndex index;
  sched::InflightCounters inflight;
  inflight.ensure(0);
  std::vector<sched::EndpointState> states;
  states.push_back(endpoint(0, 1001, {"m"}, true));
  states[0].has_metrics = true;
  states[0].scraped_at = sched::Clock::now() + std::chrono::hours(1);  // fresh throughout
  states[0].remote_inflight = remote_inflight;
  publisher.publish(std::make_unique<sched::EndpointSnapshot>(std::move(states)));
  proxy::RouterShared shared;
  shared.publisher = &publisher;
  shared.index = &index;
  shared.inflight = &inflight;
  shared.scheduler.saturation.max_concurrency = 4;
  shared.scheduler.saturation.sheddable_headroom = 2;
  std::atomic<int> placed{0}, most{0};
  std::atomic<uint64_t> held{0}, unexpected{0};
  auto worker = [&](size_t slot) {
    metrics::WorkerStats stats;
    proxy::RequestRouter router(shared, slot, stats);
    router.refresh();
    proxy::RouteRequest request;
    request.model = request.stats_target = "m";
    request.sheddable = true;
    request.hold_when_saturated = true;
    for (int i = 0; i < 20000; ++i) {
      int mine = 0;  // each worker asks for up to three slots, then gives them back
      for (int k = 0; k < 3; ++k) {
        const proxy::RouteDecision d = router.route(request);
        if (d.status != 0) {
          (d.saturated ? held : unexpected).fetch_add(1);
          continue;
        }
        ++mine;
        const int now = placed.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {}
      }
      placed.fetch_sub(mine);
      for (; mine > 0; --mine) router.released(0, true);
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  CHECK(held.load() > 0);
  CHECK(unexpected.load() == 0);
  CHECK(inflight.get(0) == 0);
  CHECK(inflight.get_sheddable(0) == 0);
  return most.load();
}

TEST_CASE("router: workers racing for the last slots under a saturation limit never take more than it allows") {
  CHECK(race_for_last_slots(0) == 2);
  // Three of the other replicas' requests (not sheddable as far as this one knows) fill
  // the headroom and one slot more: one is left, and the claim's second look counts them.
  CHECK(race_for_last_slots(3) == 1);
}

TEST_CASE("model catalog deduplicates and renders the OpenAI list") {
  proxy::ModelCatalog catalog({"a", "b", "a"});
  CHECK(catalog.models().size() == 2);
  CHECK(catalog.render_json() ==
        R"({"object":"list","data":[{"id":"a","object":"model","created":0,"owned_by":"ringgate"},)"
        R"({"id":"b","object":"model","created":0,"owned_by":"ringgate"}]})");
}
