#include "ringgate/sim/kv_event_publisher.h"

#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace ringgate::sim {
namespace {

std::string be64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) s[size_t(i)] = char(v & 0xff);
  return s;
}

bool should_bind(const std::string& endpoint) {
  return endpoint.find('*') != std::string::npos || endpoint.find("::") != std::string::npos ||
         endpoint.starts_with("ipc://") || endpoint.starts_with("inproc://");
}

std::string last_endpoint(void* socket) {
  char buf[256] = {};
  size_t len = sizeof buf;
  if (zmq_getsockopt(socket, ZMQ_LAST_ENDPOINT, buf, &len) != 0) return {};
  return std::string(buf);
}

std::string zmq_error(const std::string& what) { return what + ": " + zmq_strerror(zmq_errno()); }

}  // namespace

std::string offset_endpoint_port(std::string_view endpoint, uint32_t rank, std::string& error) {
  if (endpoint.empty() || rank == 0) return std::string(endpoint);
  const std::string suffix = std::to_string(rank);
  if (endpoint.find("inproc") != std::string_view::npos) return std::string(endpoint) + "_dp" + suffix;
  if (endpoint.find("tcp") == std::string_view::npos) {
    error = "kv events: invalid endpoint '" + std::string(endpoint) + "' for data-parallel rank " + suffix +
            ": must contain 'inproc' or match tcp://<host>:<port>";
    return {};
  }
  const size_t colon = endpoint.rfind(':');
  if (colon == std::string_view::npos) return std::string(endpoint);
  const std::string_view port_text = endpoint.substr(colon + 1);
  if (port_text == "*") return std::string(endpoint);
  uint32_t port = 0;
  bool digits = !port_text.empty() && port_text.size() <= 5;
  for (char c : port_text) {
    if (c < '0' || c > '9')
      digits = false;
    else
      port = port * 10 + uint32_t(c - '0');
  }
  if (!digits || port + rank > 65535) {
    error = "kv events: endpoint '" + std::string(endpoint) + "' has no port that data-parallel rank " + suffix +
            " can be offset from (port + rank must be 1-65535)";
    return {};
  }
  return std::string(endpoint.substr(0, colon + 1)) + std::to_string(port + rank);
}

std::unique_ptr<KvEventPublisher> KvEventPublisher::start(const KvEventsConfig& config, std::string& error) {
  std::unique_ptr<KvEventPublisher> p(new KvEventPublisher(config));
  p->context_ = zmq_ctx_new();
  p->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (!p->context_ || p->wake_fd_ < 0) {
    error = "kv events: cannot create a ZMQ context";
    return nullptr;
  }
  p->pub_ = zmq_socket(p->context_, ZMQ_PUB);
  int hwm = int(config.hwm);
  int linger = 0;
  zmq_setsockopt(p->pub_, ZMQ_SNDHWM, &hwm, sizeof hwm);
  zmq_setsockopt(p->pub_, ZMQ_LINGER, &linger, sizeof linger);
  if (should_bind(config.endpoint)) {
    if (zmq_bind(p->pub_, config.endpoint.c_str()) != 0) {
      error = zmq_error("kv events: cannot bind " + config.endpoint);
      return nullptr;
    }
    p->endpoint_ = last_endpoint(p->pub_);
  } else {
    if (zmq_connect(p->pub_, config.endpoint.c_str()) != 0) {
      error = zmq_error("kv events: cannot connect to " + config.endpoint);
      return nullptr;
    }
    p->endpoint_ = config.endpoint;
  }
  if (!config.replay_endpoint.empty()) {
    p->replay_ = zmq_socket(p->context_, ZMQ_ROUTER);
    zmq_setsockopt(p->replay_, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(p->replay_, config.replay_endpoint.c_str()) != 0) {
      error = zmq_error("kv events: cannot bind the replay socket " + config.replay_endpoint);
      return nullptr;
    }
    p->replay_endpoint_ = last_endpoint(p->replay_);
  }
  p->thread_ = std::thread([raw = p.get()] { raw->run(); });
  return p;
}

KvEventPublisher::~KvEventPublisher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  if (pub_) zmq_close(pub_);
  if (replay_) zmq_close(replay_);
  if (context_) zmq_ctx_term(context_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void KvEventPublisher::publish(kvevents::KvEventBatch batch) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= config_.max_queue_size) {
      if (dropped_++ == 0) std::fprintf(stderr, "ringgate-sim: kv events queue full: dropping batches\n");
      return;
    }
    queue_.push_back(std::move(batch));
  }
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void KvEventPublisher::run() {
  zmq_pollitem_t items[2] = {};
  items[0].fd = wake_fd_;
  items[0].events = ZMQ_POLLIN;
  items[1].socket = replay_;
  items[1].events = ZMQ_POLLIN;
  const int count = replay_ ? 2 : 1;
  for (;;) {
    if (zmq_poll(items, count, 100) < 0 && zmq_errno() != EINTR) break;
    if (count == 2 && (items[1].revents & ZMQ_POLLIN)) service_replay();
    uint64_t drained = 0;
    (void)!::read(wake_fd_, &drained, sizeof drained);
    std::deque<kvevents::KvEventBatch> batches;
    bool stop = false;
    {
      std::lock_guard lock(mutex_);
      batches.swap(queue_);
      stop = stopping_;
    }
    for (const auto& b : batches) send_batch(b);
    if (stop) break;
  }
}

void KvEventPublisher::send_batch(const kvevents::KvEventBatch& batch) {
  const uint64_t seq = next_seq_++;
  std::string payload = kvevents::encode_kv_event_batch(batch);
  const std::string seq_bytes = be64(seq);
  zmq_send(pub_, config_.topic.data(), config_.topic.size(), ZMQ_SNDMORE);
  zmq_send(pub_, seq_bytes.data(), seq_bytes.size(), ZMQ_SNDMORE);
  zmq_send(pub_, payload.data(), payload.size(), 0);
  buffer_.emplace_back(seq, std::move(payload));
  if (buffer_.size() > config_.buffer_steps) buffer_.pop_front();
}

void KvEventPublisher::service_replay() {
  // Read one whole request; anything but [identity, "", 8-byte seq] is ignored, as vLLM does.
  std::vector<std::string> frames;
  for (;;) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, replay_, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&msg);
      return;
    }
    if (frames.size() < 8) frames.emplace_back(static_cast<const char*>(zmq_msg_data(&msg)), zmq_msg_size(&msg));
    const bool more = zmq_msg_more(&msg);
    zmq_msg_close(&msg);
    if (!more) break;
  }
  if (frames.size() != 3 || frames[2].size() != 8) return;
  uint64_t start = 0;
  for (unsigned char c : frames[2]) start = (start << 8) | c;
  const std::string& id = frames[0];
  for (const auto& [seq, payload] : buffer_) {
    if (seq < start) continue;
    const std::string seq_bytes = be64(seq);
    zmq_send(replay_, id.data(), id.size(), ZMQ_SNDMORE);
    zmq_send(replay_, "", 0, ZMQ_SNDMORE);
    zmq_send(replay_, seq_bytes.data(), 8, ZMQ_SNDMORE);
    zmq_send(replay_, payload.data(), payload.size(), 0);
  }
  const std::string end(8, char(0xff));  // (-1).to_bytes(8, "big", signed=True)
  zmq_send(replay_, id.data(), id.size(), ZMQ_SNDMORE);
  zmq_send(replay_, "", 0, ZMQ_SNDMORE);
  zmq_send(replay_, end.data(), 8, ZMQ_SNDMORE);
  zmq_send(replay_, "", 0, 0);
}

}  // namespace ringgate::sim
