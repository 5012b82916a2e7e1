#include "ringgate/proxy/attempt.h"

#include <cassert>

#include "ringgate/openai/request_body.h"
#include "ringgate/util/json_text.h"
#include "ringgate/util/monotonic_clock.h"

namespace ringgate::proxy {

// An exchange ends its attempts before it goes; the ticket's destructor only guards against
// a leak if one is ever dropped without end() (the channel has no body to take).
Attempt::~Attempt() = default;

bool Attempt::open(RouteTicket ticket, const RouteDecision& decision, http::BodyBuffer& body, RequestImage image,
                   bool token_first) {
  assert(!ticket_.held() && channel_ == nullptr && "an attempt opened twice (end() it first)");
  assert(ticket.held() && ticket.endpoint_id() == decision.endpoint_id && "an attempt opened without its ticket");
  ticket_ = std::move(ticket);
  body_ = &body;
  endpoint_id_ = decision.endpoint_id;
  address_ = decision.address;
  header_rank_ = decision.dp.header ? decision.dp.rank : -1;
  destination_.assign(decision.endpoint_host).push_back(':');
  util::append_uint(destination_, decision.endpoint_port);
  if (image.add_host) {  // the request's Host names the endpoint (an IPv6 one in brackets)
    const bool v6 = decision.endpoint_host.find(':') != std::string_view::npos;
    authority_.clear();
    if (v6) authority_ += '[';
    authority_ += decision.endpoint_host;
    if (v6) authority_ += ']';
    authority_ += ':';
    util::append_uint(authority_, decision.endpoint_port);
  }
  features_ = decision.features;
  const uint64_t now_ns = util::steady_ns();  // one clock read: the send time and the awaiting age's
  ticket_.record_at_endpoint(token_first ? now_ns / 1000000 : 0);
  return connect(image, /*allow_reuse=*/true, now_ns);
}

bool Attempt::reopen(RequestImage image) {
  assert(ticket_.held() && channel_ == nullptr && "reopen() after drop_channel(), before end()");
  ticket_.renew();  // a fresh connection: a new generation
  return connect(image, /*allow_reuse=*/false, util::steady_ns());
}

bool Attempt::connect(RequestImage& image, bool allow_reuse, uint64_t now_ns) {
  image.body = body_->view();
  response_started_ = false;
  delivered_ = false;
  sent_ns_ = now_ns;
  RequestImage ranked = image;
  ranked.generation = ticket_.generation();
  ranked.data_parallel_rank = header_rank_;
  if (image.add_host) ranked.host = authority_;
  if (image.trace.trace != nullptr) {
    span_.open(image.trace, destination_, now_ns);
    ranked.traceparent = span_.traceparent();
    ranked.tracestate = span_.tracestate();
  }
  channel_ = env_.upstreams->open(endpoint_id_, address_, allow_reuse, ranked, this);
  return channel_ != nullptr;
}

void Attempt::on_response_head(const http::ResponseParser& head) {
  response_started_ = true;
  span_.head(head.status());
  owner_.attempt_head(*this, head);
}

void Attempt::end(bool reusable, bool keep_body) {
  span_.close();
  release_channel(reusable, keep_body);
  ticket_.release();
}

void Attempt::release_channel(bool reusable, bool keep_body) {
  if (UpstreamChannel* channel = channel_) {
    channel_ = nullptr;
    http::BodyBuffer& body = *body_;
    if (channel->send_in_flight()) {
      // The kernel may still read the body: the channel takes its heap block and frees
      // it after the send's last completion; another attempt (rare) sends a copy.
      http::BodyBuffer copy;
      if (keep_body) copy = body;
      channel->release(false, body);
      body = std::move(copy);
      if (keep_body) openai::BodyReader::pad(body);
    } else {
      channel->release(reusable, body);
    }
  }
}

}  // namespace ringgate::proxy
