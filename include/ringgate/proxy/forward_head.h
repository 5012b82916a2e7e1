#pragma once
// The heads the proxy writes: the request head it forwards upstream and the response
// head it relays to the client. Hop-by-hop fields never cross; framing is the proxy's
// own (bodies are decoded, then framed again for the next hop).
#include <string>
#include <string_view>

#include "ringgate/http/request_parser.h"
#include "ringgate/http/response_parser.h"

namespace ringgate::proxy {

// How the response body reaches the client.
enum class ClientFraming { ContentLength, Chunked, CloseDelimited };

// "POST <target> HTTP/1.1", the client's end-to-end fields (its Host kept), then
// x-request-id (only when the client sent none) and content-length: body_length.
// drop_credentials (auth on): the gateway's API key stays at the gateway, it is not the
// model server's (Authorization and api-key are not forwarded). drop_trace (tracing on):
// the client's traceparent and tracestate are not copied; each attempt adds its own.
void build_upstream_head(std::string& out, const http::Request& request, std::string_view request_id,
                         bool add_request_id, size_t body_length, bool drop_credentials = false,
                         bool drop_trace = false);

// Picks the framing for a response: the upstream's Content-Length when it sent one,
// else chunked for HTTP/1.1 clients, else close-delimited (HTTP/1.0).
ClientFraming choose_framing(const http::ResponseParser& response, bool client_http11);

// Status line + upstream end-to-end fields + framing field + x-request-id (when the
// upstream did not echo one) + x-gateway-destination-endpoint (the endpoint that
// served, when not empty) + `connection: close` when `close`.
void build_client_head(std::string& out, const http::ResponseParser& response, ClientFraming framing, bool close,
                       std::string_view request_id, std::string_view destination = {});

// HTTP/1.0 keeps a connection open only when the response says so: adds
// `connection: keep-alive` to the head that starts at out[head_start].
void insert_keep_alive(std::string& out, size_t head_start);

// One chunk of a chunked body.
void append_chunk(std::string& out, std::string_view data);

}  // namespace ringgate::proxy
