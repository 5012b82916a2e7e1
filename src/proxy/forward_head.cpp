#include "ringgate/proxy/forward_head.h"

#include <utility>

#include "ringgate/http/error_response.h"
#include "ringgate/proxy/hop_count.h"
#include "ringgate/proxy/upstream_side.h"
#include "ringgate/util/json_text.h"

namespace ringgate::proxy {

static void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

void build_upstream_head(std::string& out, const http::Request& request, std::string_view request_id,
                         bool add_request_id, size_t body_length, bool drop_credentials, bool drop_trace) {
  out += llhttp_method_name(request.method);
  out += ' ';
  out += request.target;
  out += " HTTP/1.1\r\n";
  const std::string_view connection = request.header("connection");
  for (const http::Header& header : request.headers) {
    if (http::is_hop_by_hop(header.name, connection)) continue;
    if (header.name == "content-length" || header.name == "expect") continue;
    if (drop_credentials && (header.name == "authorization" || header.name == "api-key")) continue;
    // The gateway picks the rank (the attempt adds its own): a client's would override it.
    if (header.name == kDataParallelRankHeader) continue;
    if (drop_trace && (header.name == "traceparent" || header.name == "tracestate")) continue;
    if (header.name == kHopsHeader) continue;  // replaced below, one more
    append_field(out, header.name, header.value);
  }
  // The gate refused a malformed or too large count: what reaches here parses.
  out += kHopsHeader;
  out += ": ";
  util::append_uint(out, parse_hops(request.header(kHopsHeader)).value_or(0) + 1);
  out += "\r\n";
  if (add_request_id) append_field(out, "x-request-id", request_id);
  out += "content-length: ";
  util::append_uint(out, body_length);
  out += "\r\n\r\n";
}

ClientFraming choose_framing(const http::ResponseParser& response, bool client_http11) {
  if (response.content_length() >= 0) return ClientFraming::ContentLength;
  const int status = response.status();
  if (status == 204 || status == 304 || (status >= 100 && status < 200)) return ClientFraming::ContentLength;
  return client_http11 ? ClientFraming::Chunked : ClientFraming::CloseDelimited;
}

void build_client_head(std::string& out, const http::ResponseParser& response, ClientFraming framing, bool close,
                       std::string_view request_id, std::string_view destination) {
  out += "HTTP/1.1 ";
  util::append_int(out, response.status());
  out += ' ';
  out += response.reason().empty() ? http::reason_phrase(response.status()) : std::string_view(response.reason());
  out += "\r\n";
  const std::string_view connection = http::find_header(response.headers(), "connection");
  bool has_request_id = false;
  for (const http::Header& header : response.headers()) {
    if (http::is_hop_by_hop(header.name, connection)) continue;
    if (header.name == "content-length") continue;
    if (header.name == "x-gateway-destination-endpoint") continue;  // only the gateway says where
    if (header.name == "x-request-id") has_request_id = true;
    append_field(out, header.name, header.value);
  }
  if ((framing == ClientFraming::ContentLength || framing == ClientFraming::Frames) && response.content_length() >= 0) {
    out += "content-length: ";
    util::append_int(out, response.content_length());
    out += "\r\n";
  } else if (framing == ClientFraming::Chunked) {
    append_field(out, "transfer-encoding", "chunked");
  }
  if (!has_request_id) append_field(out, "x-request-id", request_id);
  if (!destination.empty()) append_field(out, "x-gateway-destination-endpoint", destination);
  if (close) append_field(out, "connection", "close");
  out += "\r\n";
}

void append_chunk(std::string& out, std::string_view data) {
  if (data.empty()) return;  // an empty chunk would end the body
  util::append_hex(out, data.size());
  out += "\r\n";
  out += data;
  out += "\r\n";
}

void OutputSlot::open(std::string& out, bool chunked) {
  at_ = out.size();
  chunked_ = chunked;
  if (chunked) out.append(kSizeDigits, '0').append("\r\n");
}

void OutputSlot::close(std::string& out, size_t kept) {
  const size_t body = body_at();
  const size_t at = std::exchange(at_, kClosed);
  if (kept == 0) return out.resize(at);
  out.resize(body + kept);
  if (!chunked_) return;
  for (size_t i = kSizeDigits, n = kept; i-- > 0; n >>= 4) out[at + i] = "0123456789abcdef"[n & 15];
}

void insert_keep_alive(std::string& out, size_t head_start) {
  const size_t end = out.find("\r\n\r\n", head_start);
  if (end == std::string::npos) return;
  out.insert(end + 2, "connection: keep-alive\r\n");
}

}  // namespace ringgate::proxy
