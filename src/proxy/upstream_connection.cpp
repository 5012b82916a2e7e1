#include "ringgate/proxy/upstream_connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ringgate/net/listener.h"
#include "ringgate/proxy/upstream_pool.h"
#include "ringgate/util/json_text.h"

namespace ringgate::proxy {

namespace {
enum TimerKind : uint8_t { kConnect, kFirstByte, kReadIdle, kPoolIdle };
}

UpstreamConnection::~UpstreamConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool UpstreamConnection::connect() {
  fd_ = net::new_client_socket(address_.family());
  if (fd_ < 0) return false;
  connecting_ = true;
  rt_.loop->connect(fd_, &address_.sa, address_.length(), this);
  rt_.loop->timers().arm(timer_, rt_.options->upstream_connect_timeout_ms, rt_.loop->now_ms());
  return true;
}

void UpstreamConnection::begin(const RequestImage& image, AttemptListener* listener, bool reused) {
  listener_ = listener;
  generation_ = image.generation;
  reused_ = reused;
  head_seen_ = false;
  read_idle_ms_ = rt_.options->upstream_read_idle_timeout_ms;
  parser_.reset();
  head_.assign(image.head);
  if ((image.data_parallel_rank >= 0 || !image.traceparent.empty() || !image.host.empty()) &&
      head_.ends_with("\r\n\r\n")) {
    head_.resize(head_.size() - 2);  // before the blank line that ends the head
    if (!image.host.empty()) head_.append("host: ").append(image.host).append("\r\n");
    if (image.data_parallel_rank >= 0) {
      head_ += kDataParallelRankHeader;
      head_ += ": ";
      util::append_int(head_, image.data_parallel_rank);
      head_ += "\r\n";
    }
    if (!image.traceparent.empty()) {
      head_.append("traceparent: ").append(image.traceparent).append("\r\n");
      if (!image.tracestate.empty()) head_.append("tracestate: ").append(image.tracestate).append("\r\n");
    }
    head_ += "\r\n";
  }
  token_.assign(image.model_token);
  iov_count_ = 0;
  iov_[iov_count_++] = {head_.data(), head_.size()};
  char* body = const_cast<char*>(image.body.data());
  if (token_.empty()) {
    if (!image.body.empty()) iov_[iov_count_++] = {body, image.body.size()};
  } else {
    const size_t cut = image.model_offset;
    const size_t resume = cut + image.model_length;
    if (cut) iov_[iov_count_++] = {body, cut};
    iov_[iov_count_++] = {token_.data(), token_.size()};
    if (resume < image.body.size()) iov_[iov_count_++] = {body + resume, image.body.size() - resume};
  }
  iov_first_ = 0;
  if (connecting_) send_pending_ = true;
  else start_send();
}

void UpstreamConnection::start_send() {
  send_pending_ = false;
  // The first-byte timeout covers the whole response head: it is cancelled only when
  // the head is complete, not by its first byte.
  rt_.loop->timers().arm(timer_, rt_.options->upstream_first_byte_timeout_ms, rt_.loop->now_ms());
  submit_send();
}

void UpstreamConnection::submit_send() {
  std::memset(&msg_, 0, sizeof msg_);
  msg_.msg_iov = iov_ + iov_first_;
  msg_.msg_iovlen = iov_count_ - iov_first_;
  send_in_flight_ = true;
  rt_.loop->sendmsg(fd_, &msg_, this);
}

void UpstreamConnection::arm_recv() {
  if (recv_armed_ || closing_ || !recv_wanted_) return;
  recv_armed_ = true;
  rt_.loop->recv(fd_, this);
}

void UpstreamConnection::close() {
  if (closing_) return;
  closing_ = true;
  listener_ = nullptr;
  timer_.cancel();
  rt_.pool->remove(this);
  // Closing an fd does not cancel its operations: cancel them by fd; the object (and
  // what its iovecs point at) lives until the last completion (deferred deletion).
  shutdown(fd_, SHUT_RDWR);
  rt_.loop->cancel_fd(fd_, this);
  rt_.loop->retire(this);
}

void UpstreamConnection::release(bool reusable, http::BodyBuffer& body) {
  listener_ = nullptr;
  if (send_in_flight_) {
    retained_body_ = std::move(body);
    reusable = false;
  }
  if (!reusable || closing_ || rt_.draining) return close();
  reused_ = false;
  head_seen_ = false;
  // Idle: watch it for the server closing it, and close it before vLLM would.
  rt_.loop->timers().arm(timer_, rt_.options->upstream_idle_timeout_ms, rt_.loop->now_ms());
  pause_reading(false);
  rt_.pool->put(this);
}

void UpstreamConnection::pause_reading(bool paused) {
  if (closing_) return;
  if (paused) {
    if (!recv_wanted_) return;
    recv_wanted_ = false;
    if (head_seen_ && listener_) timer_.cancel();  // a paused read is not an idle upstream
    if (recv_armed_) rt_.loop->cancel_recv(fd_, this);
    return;
  }
  if (recv_wanted_) return arm_recv();
  recv_wanted_ = true;
  if (head_seen_ && listener_) rt_.loop->timers().arm(timer_, read_idle_ms_, rt_.loop->now_ms());
  arm_recv();
}

void UpstreamConnection::set_read_idle_timeout(uint32_t ms) {
  read_idle_ms_ = ms;
  if (!closing_ && head_seen_ && listener_ && recv_wanted_) rt_.loop->timers().arm(timer_, ms, rt_.loop->now_ms());
}

void UpstreamConnection::report(FailureKind kind) {
  AttemptListener* listener = listener_;
  if (listener == nullptr) return close();
  const uint64_t generation = generation_;
  listener->on_attempt_failed(kind);  // the exchange releases this attempt
  if (same_lease(listener, generation)) close();  // (it always does; never leave a failed connection)
}

void UpstreamConnection::on_timer(net::Timer&) {
  if (closing_) return;
  if (listener_ == nullptr) return close();  // idle too long in the pool
  if (connecting_) return report(FailureKind::ConnectTimeout);
  return report(head_seen_ ? FailureKind::ReadIdleTimeout : FailureKind::FirstByteTimeout);
}

void UpstreamConnection::on_completion(const net::Completion& c) {
  switch (c.op) {
    case net::IoOp::Connect:
      connecting_ = false;
      if (closing_) return;
      if (c.res < 0) return report(FailureKind::ConnectFailed);
      arm_recv();
      if (send_pending_ && listener_) start_send();
      else if (listener_ == nullptr) close();
      return;
    case net::IoOp::SendMsg:
      send_in_flight_ = false;
      retained_body_.release();
      if (closing_ || listener_ == nullptr) return;
      return on_sent(c.res);
    case net::IoOp::Recv:
      if (!c.more) recv_armed_ = false;
      if (!closing_) net::dispatch_recv(c, *this);
      return;
    default:
      return;
  }
}

void UpstreamConnection::on_sent(int32_t res) {
  if (res <= 0) return report(head_seen_ ? FailureKind::Reset : (parser_.started() ? FailureKind::Malformed : FailureKind::Reset));
  rt_.counters->bytes_to_upstreams.add(uint64_t(res));
  size_t sent = size_t(res);
  while (iov_first_ < iov_count_ && sent >= iov_[iov_first_].iov_len) {
    sent -= iov_[iov_first_].iov_len;
    ++iov_first_;
  }
  if (iov_first_ < iov_count_) {  // short send: resume where the kernel stopped
    iov_[iov_first_].iov_base = static_cast<char*>(iov_[iov_first_].iov_base) + sent;
    iov_[iov_first_].iov_len -= sent;
    submit_send();
  }
}

void UpstreamConnection::on_recv_stopped(bool ran_dry) {
  if (ran_dry) rt_.counters->enobufs_rearms.add();  // not a connection error: the multishot ran dry
  if (closing_ || !recv_wanted_) return;            // closed meanwhile, or paused
  if (!ran_dry) rt_.counters->multishot_rearms.add();
  arm_recv();
}

void UpstreamConnection::on_data(const char* data, size_t len) {
  rt_.counters->bytes_from_upstreams.add(len);
  if (listener_ == nullptr) return close();  // an idle pooled connection must stay silent
  // Once the head is out, the body is decoded where the listener wants it (the
  // client's output), else into the scratch buffer.
  std::string* const sink = head_seen_ ? listener_->body_sink() : nullptr;
  std::string& body = sink != nullptr ? *sink : rt_.scratch;
  if (sink == nullptr) body.clear();
  const size_t from = body.size();
  const http::ResponseFeed feed = parser_.feed(data, len, &body);
  AttemptListener* listener = listener_;
  const uint64_t generation = generation_;
  if (parser_.head_complete() && !head_seen_) {
    head_seen_ = true;
    if (recv_wanted_) rt_.loop->timers().arm(timer_, read_idle_ms_, rt_.loop->now_ms());
    listener->on_response_head(parser_);
    if (!same_lease(listener, generation)) return;  // the exchange let go (a 5xx it retries elsewhere)
  } else if (head_seen_ && recv_wanted_) {
    rt_.loop->timers().arm(timer_, read_idle_ms_, rt_.loop->now_ms());
  }
  if (head_seen_ && (sink != nullptr || body.size() > from)) {
    listener->on_response_body(std::string_view(body).substr(from));
    if (!same_lease(listener, generation)) return;
  }
  if (feed.state == http::ResponseState::Error) return report(FailureKind::Malformed);
  if (feed.state == http::ResponseState::Complete) {
    // Reusable only when nothing else is pending on it: no extra bytes, and our
    // request fully sent (an early answer can arrive while the body is still going).
    timer_.cancel();
    const bool reusable = parser_.keep_alive() && feed.consumed == len && !send_in_flight_;
    listener->on_response_end(reusable);
  }
}

void UpstreamConnection::on_eof() {
  if (listener_ == nullptr) return close();  // idle connection closed by the server
  if (!parser_.started()) return report(FailureKind::Reset);
  if (parser_.head_complete() && parser_.finish() == http::ResponseState::Complete) {
    timer_.cancel();
    AttemptListener* listener = listener_;
    const uint64_t generation = generation_;
    listener->on_response_end(false);
    if (same_lease(listener, generation)) close();
    return;
  }
  report(head_seen_ ? FailureKind::Reset : FailureKind::Malformed);
}

}  // namespace ringgate::proxy
