#include <doctest/doctest.h>

#include <string>

#include "ringgate/http/request_parser.h"
#include "ringgate/proxy/forward_head.h"
#include "ringgate/proxy/model_catalog.h"
#include "ringgate/proxy/request_router.h"

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
        "POST /v1/completions HTTP/1.1\r\nhost: gw\r\nauthorization: Bearer k\r\nx-request-id: rid-1\r\n"
        "content-length: 2\r\n\r\n");
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

TEST_CASE("chunks are framed; empty data writes nothing") {
  std::string out;
  proxy::append_chunk(out, "");
  CHECK(out.empty());
  proxy::append_chunk(out, std::string(26, 'x'));
  CHECK(out == "1a\r\n" + std::string(26, 'x') + "\r\n");
}

TEST_CASE("router: least in-flight among endpoints serving the model, exclusions, errors") {
  proxy::EndpointSet endpoints;
  const uint32_t a = endpoints.add(*net::parse_address("127.0.0.1:1"), "a");
  const uint32_t b = endpoints.add(*net::parse_address("127.0.0.1:2"), "b");
  CHECK(endpoints.add(*net::parse_address("127.0.0.1:1"), "a again") == a);
  endpoints.at(a).models = {"m"};
  endpoints.at(b).models = {"m", "other"};
  proxy::RequestRouter router(endpoints);
  proxy::RouteRequest request;
  request.model = "m";
  endpoints.at(a).in_flight = 3;
  CHECK(router.route(request).endpoint_id == b);
  endpoints.at(b).in_flight = 5;
  CHECK(router.route(request).endpoint_id == a);
  const uint32_t tried[] = {a};
  request.exclude = tried;
  CHECK(router.route(request).endpoint_id == b);
  const uint32_t both[] = {a, b};
  request.exclude = both;
  CHECK(router.route(request).status == 503);
  request.exclude = {};
  request.model = "other";
  CHECK(router.route(request).endpoint_id == b);
  request.model = "missing";
  CHECK(router.route(request).status == 404);
}

TEST_CASE("model catalog deduplicates and renders the OpenAI list") {
  proxy::ModelCatalog catalog;
  catalog.publish({"a", "b", "a"});
  CHECK(catalog.snapshot()->size() == 2);
  CHECK(catalog.render_json() ==
        R"({"object":"list","data":[{"id":"a","object":"model","created":0,"owned_by":"ringgate"},)"
        R"({"id":"b","object":"model","created":0,"owned_by":"ringgate"}]})");
}
