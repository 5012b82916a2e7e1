#include "ringgate/epp/ext_proc_stream.h"

#include <algorithm>
#include <charconv>

#include "ringgate/http/error_response.h"
#include "ringgate/util/monotonic_clock.h"
#include "ringgate/util/json_text.h"

namespace ringgate::epp {

namespace {

using extproc::ProcessingRequest;
using extproc::ProcessingResponse;
using ProcessingMode = envoy::extensions::filters::http::ext_proc::v3::ProcessingMode;
using HeaderValueOption = envoy::config::core::v3::HeaderValueOption;

std::string_view value_of(const envoy::config::core::v3::HeaderValue& h) {
  return h.raw_value().empty() ? std::string_view(h.value()) : std::string_view(h.raw_value());
}

llhttp_method_t method_of(std::string_view m) {
  if (m == "POST") return HTTP_POST;
  if (m == "PUT") return HTTP_PUT;
  if (m == "HEAD") return HTTP_HEAD;
  if (m == "DELETE") return HTTP_DELETE;
  if (m == "PATCH") return HTTP_PATCH;
  if (m == "OPTIONS") return HTTP_OPTIONS;
  return HTTP_GET;
}

// Overwrite, never append: a client that sends its own x-gateway-destination-endpoint
// must not end up with two values for the Gateway to choose from.
void set_header(extproc::HeaderMutation* mutation, std::string_view key, std::string_view value) {
  HeaderValueOption* option = mutation->add_set_headers();
  option->mutable_header()->set_key(std::string(key));
  option->mutable_header()->set_raw_value(std::string(value));
  option->set_append_action(HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
}

// llm-d's routing sidecar on the decode pod sends the prefill leg to this pod: set for a
// split request, removed from any other (a client's own would steer the sidecar).
void set_prefiller(extproc::HeaderMutation* mutation, std::string_view prefill_endpoint) {
  if (prefill_endpoint.empty()) mutation->add_remove_headers(std::string(kPrefillerHeader));
  else set_header(mutation, kPrefillerHeader, prefill_endpoint);
}

// A rank behind its server's one port is named in X-data-parallel-rank; the header is
// removed from every other request (a client's own would override the pick).
void set_rank(extproc::HeaderMutation* mutation, int32_t rank) {
  if (rank < 0) return mutation->add_remove_headers(std::string(proxy::kDataParallelRankHeader));
  char text[12];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, rank);
  set_header(mutation, proxy::kDataParallelRankHeader, std::string_view(text, size_t(end - text)));
}

void set_destination_metadata(ProcessingResponse& response, std::string_view endpoint) {
  google::protobuf::Struct& inner =
      *(*response.mutable_dynamic_metadata()->mutable_fields())[std::string(kDestinationMetadataNamespace)]
           .mutable_struct_value();
  (*inner.mutable_fields())[std::string(kDestinationEndpointHeader)].set_string_value(std::string(endpoint));
}

// The header lines of the gateway's own error answer (Retry-After, the dropped reason, the
// rate limits), for an immediate response: the status line, framing and connection
// fields are Envoy's to write.
void copy_answer_headers(extproc::HeaderMutation* mutation, std::string_view head) {
  size_t at = head.find("\r\n");  // past the status line
  while (at != std::string_view::npos && at + 2 < head.size()) {
    at += 2;
    const size_t end = head.find("\r\n", at);
    const std::string_view line = head.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    at = end;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    std::string name(line.substr(0, colon));
    for (char& c : name) c = char(c >= 'A' && c <= 'Z' ? c + 32 : c);
    if (name == "content-type" || name == "content-length" || name == "connection" || name == "keep-alive" ||
        name == "transfer-encoding" || name == "date" || name == "server")
      continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    set_header(mutation, name, value);
  }
}

bool clean_value(std::string_view v) {
  for (char c : v)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

}  // namespace

ExtProcStream::ExtProcStream(EppWorker& worker, StreamOwner* owner)
    : worker_(worker), owner_(owner), exchange_(worker.env(), *this) {}

ExtProcStream::~ExtProcStream() {
  on_peer_gone();
  worker_.forget(this);
}

void ExtProcStream::fail(StreamEnd end, std::string_view message) {
  end_ = end;
  end_message_.assign(message);
  phase_ = Phase::Done;
  on_peer_gone();
}

bool ExtProcStream::on_peer_closed() {
  if (phase_ == Phase::Held) {
    held_.peer_closed = true;  // Envoy keeps reading: the answer still goes out
    return false;
  }
  if (phase_ == Phase::Response) end_exchange();
  on_peer_gone();
  return true;
}

void ExtProcStream::on_peer_gone() {
  if (phase_ == Phase::Held) phase_ = Phase::Done;  // out of the hold below, never answered
  if (exchange_.active()) exchange_.client_gone();
  attempt_open_ = false;
  scratch_.clear();
}

void ExtProcStream::on_request(const ProcessingRequest& request, std::vector<ProcessingResponse>& out) {
  if (end_ != StreamEnd::Open) return;
  if (first_message_) {
    first_message_ = false;
    if (request.has_protocol_config()) {
      const extproc::ProtocolConfiguration& config = request.protocol_config();
      if (config.request_body_mode() == ProcessingMode::STREAMED) {
        // Header mutations in answer to a body only apply when buffered, and in STREAMED
        // mode the headers must be answered before the body (and the pick) exists.
        return fail(StreamEnd::Unimplemented,
                    "request_body_mode STREAMED cannot carry an endpoint pick; use FULL_DUPLEX_STREAMED or BUFFERED");
      }
      duplex_request_ = config.request_body_mode() == ProcessingMode::FULL_DUPLEX_STREAMED;
      buffered_request_ = config.request_body_mode() == ProcessingMode::BUFFERED ||
                          config.request_body_mode() == ProcessingMode::BUFFERED_PARTIAL;
      duplex_response_ = config.response_body_mode() == ProcessingMode::FULL_DUPLEX_STREAMED;
    }
  }
  observe_only_ = request.observability_mode();
  if (request.has_metadata_context() && phase_ <= Phase::RequestBody) read_subset_hint(request.metadata_context());
  const size_t first_out = out.size();
  switch (request.request_case()) {
    case ProcessingRequest::kRequestHeaders: on_request_headers(request.request_headers(), out); break;
    case ProcessingRequest::kRequestBody: on_request_body(request.request_body(), out); break;
    case ProcessingRequest::kRequestTrailers: on_request_trailers(out); break;
    case ProcessingRequest::kResponseHeaders: on_response_headers(request.response_headers(), out); break;
    case ProcessingRequest::kResponseBody: on_response_body(request.response_body(), out); break;
    case ProcessingRequest::kResponseTrailers: on_response_trailers(out); break;
    case ProcessingRequest::REQUEST_NOT_SET: fail(StreamEnd::InvalidArgument, "ProcessingRequest without a request"); break;
  }
  if (observe_only_) out.resize(first_out);  // the Gateway ignores answers in observability mode
}

void ExtProcStream::on_request_headers(const extproc::HttpHeaders& headers, std::vector<ProcessingResponse>& out) {
  if (phase_ != Phase::Headers) return fail(StreamEnd::InvalidArgument, "request_headers twice on one stream");
  request_started_ns_ = util::steady_ns();
  const auto& list = headers.headers().headers();
  const http::RequestLimits& limits = worker_.options().limits;
  if (size_t(list.size()) > kMaxHeaderCount) {
    return immediate_error(431, "headers_too_large", "too many request header fields", out);
  }
  size_t bytes = 0;
  request_ = http::Request{};
  request_.method = HTTP_POST;
  for (const envoy::config::core::v3::HeaderValue& h : list) {
    const std::string_view key = h.key();
    const std::string_view value = value_of(h);
    bytes += key.size() + value.size() + 4;
    if (bytes > limits.max_header_bytes) {
      return immediate_error(431, "headers_too_large", "request header fields are too large", out);
    }
    if (key.empty()) continue;
    if (key[0] == ':') {
      if (key == ":method") request_.method = method_of(value);
      else if (key == ":path") request_.target.assign(value);
      else if (key == ":authority") request_.headers.push_back({"host", std::string(value)});
      continue;
    }
    http::Header header{std::string(key), std::string(value)};
    for (char& c : header.name) c = char(c >= 'A' && c <= 'Z' ? c + 32 : c);
    request_.headers.push_back(std::move(header));
  }
  if (headers.end_of_stream()) {
    // No body (a GET such as /v1/models): GAIE sends it to any ready pod.
    const std::optional<std::string> endpoint = worker_.any_endpoint();
    if (!endpoint) return immediate_error(503, "no_endpoint", "no model server is available", out);
    phase_ = Phase::Decided;
    return answer_pick(*endpoint, /*body_follows=*/false, /*trailers_follow=*/false, out);
  }
  phase_ = Phase::RequestBody;
  if (!duplex_request_) {
    // Buffered: the headers are answered now, the pick rides on the body's answer.
    ProcessingResponse& r = out.emplace_back();
    r.mutable_request_headers()->mutable_response()->set_clear_route_cache(true);
  }
}

void ExtProcStream::on_request_body(const extproc::HttpBody& body, std::vector<ProcessingResponse>& out) {
  if (phase_ != Phase::RequestBody) return fail(StreamEnd::InvalidArgument, "request_body outside the request body phase");
  const size_t limit = worker_.options().limits.max_body_bytes;
  if (body.body().size() > limit - request_.body.size()) {
    return immediate_error(413, "body_too_large", "request body is larger than the gateway's body limit", out);
  }
  request_.body.append(body.body());
  // BUFFERED sends the whole body in one message (end_of_stream is false when trailers follow).
  if (body.end_of_stream() || buffered_request_) return decide(/*trailers_follow=*/!body.end_of_stream(), out);
  if (!duplex_request_) out.emplace_back().mutable_request_body();  // a chunk passed on unchanged
}

void ExtProcStream::on_request_trailers(std::vector<ProcessingResponse>& out) {
  if (phase_ == Phase::Held) return fail(StreamEnd::InvalidArgument, "request_trailers twice on one stream");
  if (phase_ == Phase::RequestBody) {
    // The body ended without end_of_stream: the trailers say it is complete.
    decide(/*trailers_follow=*/true, out);
    if (end_ != StreamEnd::Open || duplex_request_) return;  // duplex: answered after the body
    if (phase_ == Phase::Held) {
      held_.trailers_answer = true;  // after the pick, when it comes
      return;
    }
  }
  out.emplace_back().mutable_request_trailers();
}

void ExtProcStream::decide(bool trailers_follow, std::vector<ProcessingResponse>& out) {
  worker_.counters().requests.add();
  scratch_.clear();
  attempt_open_ = false;
  trace_ = nullptr;
  traceparent_.clear();
  tracestate_.clear();
  if (worker_.options().tracing.enabled) decide_ns_ = util::steady_ns();
  held_.trailers_follow = trailers_follow;
  worker_.set_current(this);
  exchange_.start(request_, /*http11=*/true, /*keep_alive=*/true, worker_.now_ms());
  worker_.set_current(nullptr);
  // Holding this one may have evicted others from the hold (its bounds): they answer now.
  worker_.settle_resumed();
  if (!attempt_open_ && exchange_.active() && exchange_.queued()) {
    phase_ = Phase::Held;  // no answer until a server appears or the wait runs out
    return;
  }
  answer_decision(out);
}

void ExtProcStream::answer_decision(std::vector<ProcessingResponse>& out) {
  if (!attempt_open_) {
    // The Exchange answered with an error (bad body 400, unknown model 404, 429, 503):
    // the same status, header lines and JSON body, as an immediate response.
    const int status = exchange_.status() > 0 ? exchange_.status() : 500;
    const size_t head_end = scratch_.find("\r\n\r\n");
    const std::string_view text(scratch_);
    const std::string_view head = head_end == std::string::npos ? text : text.substr(0, head_end + 2);
    const std::string_view body = head_end == std::string::npos ? std::string_view() : text.substr(head_end + 4);
    immediate(status, body, out, head);
    scratch_.clear();
    return;
  }
  phase_ = Phase::Decided;
  answer_pick(picked_, /*body_follows=*/true, held_.trailers_follow, out);
  if (held_.trailers_answer) out.emplace_back().mutable_request_trailers();
  held_.trailers_answer = false;
}

void ExtProcStream::exchange_resumed() {
  if (phase_ == Phase::Held) worker_.resuming(this);
}

// The hold offered this stream a dispatch or evicted it: still held (no server yet), or
// its answer now.
void ExtProcStream::settle_held() {
  if (phase_ != Phase::Held || (!attempt_open_ && exchange_.active() && exchange_.queued())) return;
  answer_decision(held_.answers);
  if (observe_only_) held_.answers.clear();
  if (held_.peer_closed && end_ == StreamEnd::Open) {
    // Half-closed while held: the Gateway reads the answer, and there is nothing after it.
    phase_ = Phase::Done;
    end_ = StreamEnd::Ok;
    on_peer_gone();
  }
  if (owner_ != nullptr) owner_->stream_answered();
}

void ExtProcStream::take_answers(std::vector<ProcessingResponse>& out) {
  for (ProcessingResponse& r : held_.answers) out.push_back(std::move(r));
  held_.answers.clear();
}

proxy::UpstreamChannel* ExtProcStream::opened(const net::Address& address, const proxy::RequestImage& image,
                                              proxy::AttemptListener* listener) {
  listener_ = listener;
  picked_ = address.to_string();
  picked_rank_ = image.data_parallel_rank;
  rewritten_ = !image.model_token.empty();
  if (image.trace.trace != nullptr && image.trace.trace->on()) {
    trace_ = image.trace.trace;
    traceparent_.assign(image.traceparent);
    tracestate_.assign(image.tracestate);
  }
  if (rewritten_) {
    // The body as the gateway would forward it: the model's JSON token replaced in place.
    forward_body_.assign(image.body.substr(0, image.model_offset));
    forward_body_ += image.model_token;
    forward_body_ += image.body.substr(image.model_offset + image.model_length);
  }
  attempt_open_ = true;
  return this;
}

void ExtProcStream::answer_pick(std::string_view endpoint, bool body_follows, bool trailers_follow,
                                std::vector<ProcessingResponse>& out) {
  const std::string_view body = !body_follows ? std::string_view() : rewritten_ ? std::string_view(forward_body_)
                                                                                : std::string_view(request_.body);
  char length[24];
  const auto [length_end, ec] = std::to_chars(length, length + sizeof length, body.size());
  const std::string_view content_length(length, size_t(length_end - length));
  record_decision(endpoint);
  request_handled();
  if (duplex_request_ || !body_follows) {
    // GAIE's order: the headers' answer carries the pick, then the body streams back.
    ProcessingResponse& r = out.emplace_back();
    extproc::CommonResponse* common = r.mutable_request_headers()->mutable_response();
    common->set_clear_route_cache(true);
    set_header(common->mutable_header_mutation(), kDestinationEndpointHeader, endpoint);
    set_prefiller(common->mutable_header_mutation(), exchange_.prefill_endpoint());
    set_rank(common->mutable_header_mutation(), picked_rank_);
    set_trace_headers(common->mutable_header_mutation());
    if (!body.empty()) set_header(common->mutable_header_mutation(), "content-length", content_length);
    set_destination_metadata(r, endpoint);
    if (!body_follows) return;
    size_t at = 0;
    do {
      const size_t n = std::min(kStreamedChunkBytes, body.size() - at);
      extproc::StreamedBodyResponse* chunk =
          out.emplace_back().mutable_request_body()->mutable_response()->mutable_body_mutation()->mutable_streamed_response();
      chunk->set_body(std::string(body.substr(at, n)));
      at += n;
      chunk->set_end_of_stream(at == body.size() && !trailers_follow);
    } while (at < body.size());
    if (trailers_follow) out.emplace_back().mutable_request_trailers();
    return;
  }
  // Buffered: the body's answer carries the pick; the body is replaced only when rewritten.
  ProcessingResponse& r = out.emplace_back();
  extproc::CommonResponse* common = r.mutable_request_body()->mutable_response();
  common->set_clear_route_cache(true);
  set_header(common->mutable_header_mutation(), kDestinationEndpointHeader, endpoint);
  set_prefiller(common->mutable_header_mutation(), exchange_.prefill_endpoint());
  set_rank(common->mutable_header_mutation(), picked_rank_);
  set_trace_headers(common->mutable_header_mutation());
  if (rewritten_) {
    set_header(common->mutable_header_mutation(), "content-length", content_length);
    common->mutable_body_mutation()->set_body(std::string(body));
  }
  set_destination_metadata(r, endpoint);
}

void ExtProcStream::immediate(int status, std::string_view json_body, std::vector<ProcessingResponse>& out,
                              std::string_view head) {
  request_handled();
  ProcessingResponse& r = out.emplace_back();
  extproc::ImmediateResponse* im = r.mutable_immediate_response();
  im->mutable_status()->set_code(envoy::type::v3::StatusCode(status));
  set_header(im->mutable_headers(), "content-type", "application/json");
  copy_answer_headers(im->mutable_headers(), head);
  im->set_body(std::string(json_body));
  im->set_details("ringgate_epp_" + std::to_string(status));
  end_ = StreamEnd::Ok;  // GAIE ends the stream after an immediate response
  phase_ = Phase::Done;
  on_peer_gone();
}

void ExtProcStream::immediate_error(int status, std::string_view code, std::string_view message,
                                    std::vector<ProcessingResponse>& out) {
  worker_.counters().gateway_errors.add();
  worker_.counters().responses_by_class[status / 100].add();
  immediate(status, http::error_body(status, code, message), out);
}

void ExtProcStream::on_response_headers(const extproc::HttpHeaders& headers, std::vector<ProcessingResponse>& out) {
  if (phase_ != Phase::Decided) return fail(StreamEnd::InvalidArgument, "response_headers before a decision");
  phase_ = Phase::Response;
  response_started_ns_ = util::steady_ns();
  response_handler_ns_ = 0;
  out.emplace_back().mutable_response_headers();
  if (!attempt_open_ || !exchange_.active()) {
    if (headers.end_of_stream()) phase_ = Phase::Done;
    return;
  }
  // The head as the Exchange reads it: status, content-type, framing. Nothing else is
  // needed, and a value that cannot be written into an HTTP head is left out.
  int status = 0;
  response_text_.clear();
  size_t count = 0;
  for (const envoy::config::core::v3::HeaderValue& h : headers.headers().headers()) {
    if (++count > kMaxHeaderCount) break;
    const std::string_view key = h.key();
    const std::string_view value = value_of(h);
    if (key == ":status") {
      std::from_chars(value.data(), value.data() + value.size(), status);
    } else if ((key == "content-type" || key == "content-length" || key == "transfer-encoding") &&
               value.size() <= 256 && clean_value(value)) {
      response_text_.append(key).append(": ").append(value).append("\r\n");
    }
  }
  if (status < 200 || status > 599) return fail(StreamEnd::InvalidArgument, "response_headers without a valid :status");
  std::string head = "HTTP/1.1 " + std::to_string(status) + " X\r\n";
  std::string ignored;
  response_head_.reset();
  const std::string full = head + response_text_ + "\r\n";
  response_head_.feed(full.data(), full.size(), &ignored);
  if (!response_head_.head_complete()) {  // conflicting framing fields: the status alone
    response_head_.reset();
    head += "\r\n";
    response_head_.feed(head.data(), head.size(), &ignored);
  }
  listener_->on_response_head(response_head_);
  scratch_.clear();
  if (headers.end_of_stream()) end_exchange();
}

void ExtProcStream::on_response_body(const extproc::HttpBody& body, std::vector<ProcessingResponse>& out) {
  if (phase_ != Phase::Response) return fail(StreamEnd::InvalidArgument, "response_body before response_headers");
  const uint64_t handler_started_ns = util::steady_ns();
  if (attempt_open_ && exchange_.active()) {
    listener_->on_response_body(body.body());  // usage, TTFT, inter-token gaps, sizes
    scratch_.clear();
  }
  if (!duplex_response_) {
    out.emplace_back().mutable_response_body();  // passed on unchanged
  } else {
    // Duplex: the Gateway sends on what comes back, so every byte is echoed, in order.
    const std::string& data = body.body();
    size_t at = 0;
    do {
      const size_t n = std::min(kStreamedChunkBytes, data.size() - at);
      extproc::StreamedBodyResponse* chunk =
          out.emplace_back().mutable_response_body()->mutable_response()->mutable_body_mutation()->mutable_streamed_response();
      chunk->set_body(data.substr(at, n));
      at += n;
      chunk->set_end_of_stream(at == data.size() && body.end_of_stream());
    } while (at < data.size());
  }
  response_handler_ns_ += util::steady_ns() - handler_started_ns;
  if (body.end_of_stream()) end_exchange();
}

void ExtProcStream::on_response_trailers(std::vector<ProcessingResponse>& out) {
  if (phase_ != Phase::Response) return fail(StreamEnd::InvalidArgument, "response_trailers before response_headers");
  out.emplace_back().mutable_response_trailers();
  end_exchange();
}

// One span per decision, under the request's SERVER span (itself under Envoy's traceparent):
// from the whole body's arrival to the pick's answer, with what the answer says.
void ExtProcStream::record_decision(std::string_view endpoint) {
  if (trace_ == nullptr || !trace_->sampled()) return;
  std::optional<metrics::SpanBuilder> span = trace_->claim("ringgate.epp.decision", metrics::SpanKind::Internal,
                                                           trace_->new_span_id(), decide_ns_, util::steady_ns());
  if (!span) return;
  span->add_string("ringgate.epp.endpoint", endpoint);
  span->add_string("ringgate.epp.prefill_endpoint", exchange_.prefill_endpoint());
  if (picked_rank_ >= 0) span->add_int("ringgate.data_parallel_rank", picked_rank_);
  span->add_string("ringgate.epp.request_body_mode", duplex_request_     ? "full_duplex_streamed"
                                                     : buffered_request_ ? "buffered"
                                                                         : "streamed");
  span->add_bool("ringgate.epp.model_rewritten", rewritten_);
  if (has_subset_) span->add_int("ringgate.epp.subset_hint_endpoints", int64_t(subset_.size()));
  trace_->commit(*span);
}

// The model server continues the trace under the attempt's span, as behind the gateway (a
// Gateway that traces itself puts its own upstream span there instead).
void ExtProcStream::set_trace_headers(extproc::HeaderMutation* mutation) const {
  if (traceparent_.empty()) return;
  set_header(mutation, "traceparent", traceparent_);
  if (!tracestate_.empty()) set_header(mutation, "tracestate", tracestate_);
}

// filter_metadata["envoy.lb.subset_hint"]["x-gateway-destination-endpoint-subset"]: a
// list of "ip:port" strings. Bounded: entries past kMaxSubsetEntries, and values that are
// not short strings, are left out.
void ExtProcStream::read_subset_hint(const envoy::config::core::v3::Metadata& metadata) {
  const auto& namespaces = metadata.filter_metadata();
  const auto ns = namespaces.find(std::string(kSubsetHintNamespace));
  if (ns == namespaces.end()) return;
  const auto field = ns->second.fields().find(std::string(kSubsetHintKey));
  if (field == ns->second.fields().end()) return;
  has_subset_ = true;
  subset_.clear();
  for (const google::protobuf::Value& v : field->second.list_value().values()) {
    if (subset_.size() == kMaxSubsetEntries) break;
    if (v.kind_case() == google::protobuf::Value::kStringValue && v.string_value().size() <= 64)
      subset_.push_back(v.string_value());
  }
  std::sort(subset_.begin(), subset_.end());
}

// The response is complete: the Exchange records it and releases its in-flight count.
void ExtProcStream::request_handled() {
  if (request_started_ns_ == 0) return;
  const double seconds = double(util::steady_ns() - request_started_ns_) / 1e9;
  request_started_ns_ = 0;
  worker_.env().stats->epp_request_processing.observe(seconds, metrics::kEppRequestProcessingBuckets);
}

void ExtProcStream::end_exchange() {
  if (response_started_ns_ != 0) {
    // Streamed (duplex) responses: the handler's own time, not the model server's between chunks.
    const uint64_t ns = duplex_response_ ? response_handler_ns_ : util::steady_ns() - response_started_ns_;
    response_started_ns_ = 0;
    worker_.env().stats->epp_response_processing.observe(double(ns) / 1e9, metrics::kEppResponseProcessingBuckets);
  }
  phase_ = Phase::Done;
  if (!exchange_.active()) return;
  if (attempt_open_ && exchange_.response_started()) listener_->on_response_end(/*reusable=*/false);
  else exchange_.client_gone();
  scratch_.clear();
}

}  // namespace ringgate::epp
