#pragma once
// The heads the proxy writes: the request head it forwards upstream and the response
// head it relays to the client. Hop-by-hop fields never cross; framing is the proxy's
// own (bodies are decoded, then framed again for the next hop).
#include <string>
#include <string_view>

#include "ringgate/http/request_parser.h"
#include "ringgate/http/response_parser.h"

namespace ringgate::proxy {

// How the response body reaches the client. Frames: the client's transport frames it
// (HTTP/2 DATA frames): no chunking, no connection fields, a server's Content-Length kept.
enum class ClientFraming { ContentLength, Chunked, CloseDelimited, Frames };

// "POST <target> HTTP/1.1", the client's end-to-end fields (its Host kept; an HTTP/1.0
// request without one gets its endpoint's from the attempt, RequestImage::add_host), then
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

// Bytes of the body decoded straight into the client's output (no copy through a
// scratch buffer), then framed around where they lie. A chunk's size is known only
// after its bytes, so it is written into a fixed-width field reserved before them:
// hex with leading zeros, which RFC 9112's chunk-size (1*HEXDIG) allows.
class OutputSlot {
 public:
  static constexpr size_t kSizeDigits = 8;  // a chunk below 4 GiB: any one read's bytes

  // Opens the slot at the end of `out` (the size field reserved when `chunked`); the
  // body's bytes are then appended to `out`.
  void open(std::string& out, bool chunked);
  bool is_open() const { return at_ != kClosed; }
  // Where the body's bytes begin in `out`.
  size_t body_at() const { return at_ + (chunked_ ? kSizeDigits + 2 : 0); }
  // Keeps the first `kept` of the body's bytes and frames them (the rest, and with
  // kept 0 the size field too, is cut from `out`); the slot closes. Chunked: the
  // closing CRLF is left to append_chunk_end(), so that views of the kept bytes stay
  // valid until the caller is done with them.
  void close(std::string& out, size_t kept);
  static void append_chunk_end(std::string& out) { out += "\r\n"; }

 private:
  static constexpr size_t kClosed = ~size_t(0);
  size_t at_ = kClosed;
  bool chunked_ = false;
};

}  // namespace ringgate::proxy
