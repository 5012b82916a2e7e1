#include "ringgate/control/kv_event_subscriber.h"

#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace ringgate::control {
namespace {

constexpr int kReplayTimeoutMs = 1000;
constexpr size_t kMaxReplayBatches = 1u << 16;

std::string be64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) s[size_t(i)] = char(v & 0xff);
  return s;
}
uint64_t read_be64(std::string_view s) {
  uint64_t v = 0;
  for (unsigned char c : s) v = (v << 8) | c;
  return v;
}

// Receives the frames of one message, keeping at most `keep` of them (the rest
// are read and dropped). Returns the frame count, or -1 when nothing was there.
int recv_message(void* socket, std::vector<std::string>& frames, size_t keep, int flags) {
  frames.clear();
  int count = 0;
  for (;;) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, socket, flags) < 0) {
      zmq_msg_close(&msg);
      return count == 0 ? -1 : count;
    }
    if (frames.size() < keep) frames.emplace_back(static_cast<const char*>(zmq_msg_data(&msg)), zmq_msg_size(&msg));
    ++count;
    const bool more = zmq_msg_more(&msg);
    zmq_msg_close(&msg);
    if (!more) return count;
    flags = 0;  // the rest of a message is already here
  }
}

}  // namespace

struct KvEventSubscriber::Stream {
  KvEventSource source;
  void* sub = nullptr;
  bool started = false;   // a batch was applied: next_seq is meaningful
  uint64_t next_seq = 0;
  bool gap_fallback = false;  // lost events: not trusted until exact again
};

KvEventSubscriber::KvEventSubscriber(sched::ExactBlockIndex& index, kvevents::KvEventLimits limits, std::string topic)
    : index_(index), limits_(limits), topic_(std::move(topic)) {
  context_ = zmq_ctx_new();
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  thread_ = std::thread([this] { run(); });
}

KvEventSubscriber::~KvEventSubscriber() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  for (auto& s : streams_) zmq_close(s->sub);
  streams_.clear();
  zmq_ctx_term(context_);
  ::close(wake_fd_);
}

void KvEventSubscriber::set_sources(std::vector<KvEventSource> sources) {
  {
    std::lock_guard lock(mutex_);
    pending_ = std::move(sources);
    changed_ = true;
  }
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void KvEventSubscriber::apply_sources() {
  std::vector<KvEventSource> wanted;
  {
    std::lock_guard lock(mutex_);
    if (!changed_) return;
    wanted = pending_;
    changed_ = false;
  }
  // Drop streams no longer wanted (or whose addresses changed).
  for (auto it = streams_.begin(); it != streams_.end();) {
    const bool keep = std::find(wanted.begin(), wanted.end(), (*it)->source) != wanted.end();
    if (keep) {
      ++it;
      continue;
    }
    zmq_close((*it)->sub);
    index_.purge((*it)->source.id);
    it = streams_.erase(it);
  }
  for (const KvEventSource& src : wanted) {
    if (std::any_of(streams_.begin(), streams_.end(), [&](const auto& s) { return s->source == src; })) continue;
    auto s = std::make_unique<Stream>();
    s->source = src;
    s->sub = zmq_socket(context_, ZMQ_SUB);
    int64_t max_size = int64_t(limits_.max_payload_bytes) + 64;
    int linger = 0;
    zmq_setsockopt(s->sub, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size);  // a bigger frame drops the connection
    zmq_setsockopt(s->sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s->sub, ZMQ_SUBSCRIBE, topic_.data(), topic_.size());
    if (zmq_connect(s->sub, src.address.c_str()) != 0) {
      zmq_close(s->sub);
      index_.set_state(src.id, sched::ExactState::Fallback, "cannot connect to " + src.address + ": " +
                                                                zmq_strerror(zmq_errno()), true);
      continue;
    }
    index_.set_state(src.id, sched::ExactState::Syncing, "waiting for the first batch from " + src.address, true);
    streams_.push_back(std::move(s));
  }
}

void KvEventSubscriber::run() {
  std::vector<zmq_pollitem_t> items;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    apply_sources();
    items.assign(streams_.size() + 1, zmq_pollitem_t{});
    items[0].fd = wake_fd_;
    items[0].events = ZMQ_POLLIN;
    for (size_t i = 0; i < streams_.size(); ++i) {
      items[i + 1].socket = streams_[i]->sub;
      items[i + 1].events = ZMQ_POLLIN;
    }
    if (zmq_poll(items.data(), int(items.size()), 200) < 0 && zmq_errno() != EINTR) return;
    uint64_t drained = 0;
    (void)!::read(wake_fd_, &drained, sizeof drained);
    for (size_t i = 0; i < streams_.size(); ++i)
      if (items[i + 1].revents & ZMQ_POLLIN) on_readable(*streams_[i]);
  }
}

void KvEventSubscriber::on_readable(Stream& s) {
  std::vector<std::string> frames;
  // A bounded number of messages per wake-up, so one busy stream cannot starve the rest.
  for (int n = 0; n < 256; ++n) {
    int count = recv_message(s.sub, frames, 3, ZMQ_DONTWAIT);
    if (count < 0) return;
    if (count != 3 || frames[1].size() != 8) {
      counters_.decode_errors.fetch_add(1, std::memory_order_relaxed);
      fall_back(s, "a message is not [topic, 8-byte sequence, payload]");
      continue;
    }
    const uint64_t seq = read_be64(frames[1]);
    if (s.started && seq < s.next_seq) {
      if (seq != 0) continue;  // already applied (a replay overlapped)
      // The publisher restarted: its cache is new, and so is our picture of it.
      index_.set_state(s.source.id, sched::ExactState::Precise, "", true);
      s.gap_fallback = false;
      s.started = false;
    }
    const uint64_t expected = s.started ? s.next_seq : 0;
    if (seq > expected && !replay(s, expected, seq)) {
      fall_back(s, "lost batches " + std::to_string(expected) + ".." + std::to_string(seq - 1) +
                       (s.source.replay_address.empty() ? " (no replay endpoint)" : " (replay could not fill them)"));
    }
    deliver(s, seq, frames[2], false);
  }
}

void KvEventSubscriber::deliver(Stream& s, uint64_t seq, std::string_view payload, bool replayed) {
  kvevents::KvEventBatch batch;
  std::string error = kvevents::decode_kv_event_batch(payload, limits_, batch);
  s.started = true;
  s.next_seq = seq + 1;
  if (!error.empty()) {
    counters_.decode_errors.fetch_add(1, std::memory_order_relaxed);
    fall_back(s, "batch " + std::to_string(seq) + " refused: " + error);
    return;
  }
  counters_.batches.fetch_add(1, std::memory_order_relaxed);
  if (replayed) counters_.replayed_batches.fetch_add(1, std::memory_order_relaxed);
  index_.apply(s.source.id, seq, batch);
  const bool cleared = std::any_of(batch.events.begin(), batch.events.end(), [](const kvevents::KvEvent& e) {
    return std::holds_alternative<kvevents::AllBlocksCleared>(e);
  });
  if (s.gap_fallback && cleared) s.gap_fallback = false;  // the set is exact again
  if (!s.gap_fallback && index_.state(s.source.id) == sched::ExactState::Syncing)
    index_.set_state(s.source.id, sched::ExactState::Precise, "");
  else if (!s.gap_fallback && cleared)
    index_.set_state(s.source.id, sched::ExactState::Precise, "");
}

bool KvEventSubscriber::replay(Stream& s, uint64_t from, uint64_t until) {
  counters_.gaps.fetch_add(1, std::memory_order_relaxed);
  if (s.source.replay_address.empty()) return false;
  void* dealer = zmq_socket(context_, ZMQ_DEALER);
  int linger = 0;
  int64_t max_size = int64_t(limits_.max_payload_bytes) + 64;
  zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger);
  zmq_setsockopt(dealer, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size);
  bool filled = false;
  if (zmq_connect(dealer, s.source.replay_address.c_str()) == 0) {
    // A DEALER's [ "", seq ] arrives at the ROUTER as [identity, "", seq], as from vLLM's REQ clients.
    const std::string start = be64(from);
    zmq_send(dealer, "", 0, ZMQ_SNDMORE);
    zmq_send(dealer, start.data(), 8, 0);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kReplayTimeoutMs);
    uint64_t next = from;
    std::vector<std::string> frames;
    for (size_t n = 0; n < kMaxReplayBatches; ++n) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      zmq_pollitem_t item{dealer, 0, ZMQ_POLLIN, 0};
      if (zmq_poll(&item, 1, long(left.count())) <= 0) break;
      if (recv_message(dealer, frames, 3, ZMQ_DONTWAIT) != 3 || frames[1].size() != 8) break;
      if (frames[1] == std::string(8, char(0xff))) {  // the end marker
        filled = next >= until;
        break;
      }
      const uint64_t seq = read_be64(frames[1]);
      if (seq < next) continue;
      if (seq > next) break;  // the buffer no longer has `next`
      if (seq >= until) {
        filled = true;
        break;
      }
      deliver(s, seq, frames[2], true);
      next = seq + 1;
    }
  }
  zmq_close(dealer);
  return filled;
}

void KvEventSubscriber::fall_back(Stream& s, std::string reason) {
  s.gap_fallback = true;
  index_.set_state(s.source.id, sched::ExactState::Fallback, std::move(reason));
}

}  // namespace ringgate::control
