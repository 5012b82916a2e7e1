#include "ringgate/proxy/attempt.h"

#include <cassert>

#include "ringgate/openai/request_body.h"
#include "ringgate/util/json_text.h"
#include "ringgate/util/monotonic_clock.h"

namespace ringgate::proxy {

Attempt::~Attempt() {
  // An exchange ends its attempts before it goes; this only guards against a leak of
  // the slot if one is ever dropped without end() (the channel has no body to take).
  if (slot_.held()) {
    end_prefill();
    env_.router->load_done(endpoint_id_, load_tokens_);  // the claim gives the slot back itself
  }
}

bool Attempt::open(SlotClaim slot, const RouteDecision& decision, http::BodyBuffer& body, RequestImage image,
                   bool token_first, bool announce) {
  assert(!slot_.held() && channel_ == nullptr && "an attempt opened twice (end() it first)");
  assert(slot.held() && slot.endpoint_id() == decision.endpoint_id && "an attempt opened without its slot");
  slot_ = std::move(slot);
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
  prefill_tokens_ = pending_prefill_tokens(decision);
  awaiting_ = true;
  const uint64_t now_ns = util::steady_ns();  // one clock read: the send time and the awaiting age's
  awaiting_since_ms_ = token_first ? now_ns / 1000000 : 0;
  env_.router->prefill_sent(endpoint_id_, prefill_tokens_, awaiting_since_ms_);
  load_tokens_ = decision.load_tokens;
  env_.router->load_sent(endpoint_id_, load_tokens_);
  if (announce) env_.router->routed(endpoint_id_);
  return connect(image, /*allow_reuse=*/true, now_ns);
}

bool Attempt::reopen(RequestImage image) {
  assert(slot_.held() && channel_ == nullptr && "reopen() after drop_channel(), before end()");
  return connect(image, /*allow_reuse=*/false, util::steady_ns());
}

bool Attempt::connect(RequestImage& image, bool allow_reuse, uint64_t now_ns) {
  image.body = body_->view();
  response_started_ = false;
  delivered_ = false;
  sent_ns_ = now_ns;
  RequestImage ranked = image;
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
  if (slot_.held()) {
    end_prefill();
    env_.router->load_done(endpoint_id_, load_tokens_);
    slot_.release();
  }
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
