// The epoll backend: the io_uring backend's completion semantics emulated with
// edge-triggered readiness (Seastar's reactor_backend_epoll idea). Each fd is
// registered once (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) on its first operation,
// never modified; readiness is remembered per fd, and an operation runs when its fd
// is ready:
//   - multishot accept: accept4 until EAGAIN (bounded per turn for fairness), each
//     result one completion with more = true;
//   - multishot recv: one read per ready fd per round, the round's reads in one
//     io_submit (aio_batch.h), each result one completion with more = true;
//   - recv into the handler's buffer: one recv() when the fd is ready, one completion;
//   - send / sendmsg: written once the round's reads are done, in one io_submit;
//     when the socket has no room, again when it is writable; one completion;
//   - connect: tried at once, else when writable; one completion;
//   - cancels: every operation of the fd (or the recv) ends with -ECANCELED.
// Without Linux AIO (refused by a seccomp profile; or SIGPIPE not ignored) every read
// and write is a recv()/send()/sendmsg() of its own: same behaviour, more syscalls.
// Completions are queued and delivered from wait(), never from the submitting call,
// so a handler is never re-entered (the same contract as io_uring).
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <vector>

#include "ringgate/net/aio_batch.h"
#include "ringgate/net/io_backend.h"
#include "ringgate/net/loop.h"

namespace ringgate::net {

namespace {

constexpr int kBurst = 16;           // accepts / plain receives per fd per turn before others get a go
constexpr unsigned kAioDepth = 256;  // operations per io_submit
constexpr size_t kReadBatch = 64;    // receives per io_submit (each with a buffer of its own)
constexpr long kTickMs = 100;

struct FdState {
  IoHandler* accept = nullptr;
  IoHandler* recv = nullptr;
  IoHandler* recv_into = nullptr;  // a receive into the handler's buffer (one completion)
  char* recv_buffer = nullptr;
  size_t recv_len = 0;
  size_t recv_done = 0;     // wait_all: bytes already in the buffer
  bool recv_wait_all = false;
  IoHandler* send = nullptr;     // send or sendmsg waiting for room
  IoHandler* connect = nullptr;  // connect in progress
  const void* send_data = nullptr;
  size_t send_len = 0;
  const msghdr* send_msg = nullptr;
  bool registered = false;
  bool readable = false;
  bool writable = false;
  bool peer_closed = false;  // EPOLLRDHUP / HUP seen: read on to the EOF, no edge will follow
  bool queued = false;  // in the work list
  bool send_queued = false;  // `send` is in sends_, not yet tried
};

struct ReadSlot {
  int fd;
  IoHandler* handler;  // the receive this read is for (checked again at delivery)
};

struct Pending {
  IoHandler* handler;
  Completion completion;
};

class EpollBackend final : public IoBackend {
 public:
  ~EpollBackend() override {
    if (epfd_ >= 0) close(epfd_);
    if (tick_fd_ >= 0) close(tick_fd_);
  }

  std::string init(const LoopOptions& options) override {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) return std::string("epoll_create1: ") + std::strerror(errno);
    // Timers: a periodic timerfd of kTickMs rather than a timeout per epoll_wait (each
    // would program a timer: costly in a VM). A timer fires at most kTickMs late.
    tick_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (tick_fd_ < 0) return std::string("timerfd_create: ") + std::strerror(errno);
    itimerspec spec{};
    spec.it_interval.tv_nsec = kTickMs * 1000000L;
    spec.it_value.tv_nsec = kTickMs * 1000000L;
    timerfd_settime(tick_fd_, 0, &spec, nullptr);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = tick_fd_;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, tick_fd_, &ev);
    buffer_.resize(options.buffer_size);
    // Without AIO (refused by a seccomp profile, aio-max-nr reached) every send is a
    // syscall of its own: slower, same behaviour.
    [[maybe_unused]] const std::string no_aio = aio_.init(kAioDepth);
    buffer_size_ = options.buffer_size;
    if (aio_.usable()) read_buffers_.resize(kReadBatch * buffer_size_);
    return {};
  }

  void accept_multishot(int fd, IoHandler* h) override {
    FdState& s = state(fd);
    s.accept = h;
    // Connections may already wait in the queue: try once (EAGAIN costs one syscall).
    s.readable = true;
    enqueue(fd);
  }
  void cancel_accept(int fd, IoHandler* h) override {
    FdState& s = state(fd);
    if (s.accept) post(s.accept, IoOp::Accept, -ECANCELED);
    s.accept = nullptr;
    post(h, IoOp::Cancel, 0);
  }
  void recv_multishot(int fd, IoHandler* h) override {
    FdState& s = state(fd);
    s.recv = h;
    if (s.readable) enqueue(fd);
  }
  void cancel_recv(int fd, IoHandler* h) override {
    FdState& s = state(fd);
    if (s.recv) post(s.recv, IoOp::Recv, -ECANCELED);
    s.recv = nullptr;
    post(h, IoOp::Cancel, 0);
  }
  void recv_into(int fd, char* buffer, size_t len, bool wait_all, IoHandler* h) override {
    FdState& s = state(fd);
    s.recv_into = h;
    s.recv_buffer = buffer;
    s.recv_len = len;
    s.recv_done = 0;
    s.recv_wait_all = wait_all;
    if (s.readable) enqueue(fd);
  }
  void cancel_recv_into(int fd, IoHandler* h) override {
    FdState& s = state(fd);
    if (s.recv_into) post(s.recv_into, IoOp::RecvInto, -ECANCELED);
    s.recv_into = nullptr;
    post(h, IoOp::Cancel, 0);
  }
  // Sends are written when the turn's reads are done (queue_send), not from the
  // handler that submits them: see flush_sends().
  void send(int fd, const void* data, size_t len, IoHandler* h) override {
    FdState& s = state(fd);
    s.send = h;
    s.send_data = data;
    s.send_len = len;
    s.send_msg = nullptr;
    queue_send(fd, s);
  }
  void sendmsg(int fd, const msghdr* msg, IoHandler* h) override {
    FdState& s = state(fd);
    s.send = h;
    s.send_msg = msg;
    queue_send(fd, s);
  }
  void connect(int fd, const sockaddr* address, socklen_t length, IoHandler* h) override {
    FdState& s = state(fd);
    if (::connect(fd, address, length) == 0) return post(h, IoOp::Connect, 0);
    if (errno != EINPROGRESS) return post(h, IoOp::Connect, -errno);
    s.writable = false;
    s.connect = h;
  }
  void cancel_fd(int fd, IoHandler* h) override {
    if (fd >= 0 && size_t(fd) < fds_.size()) {
      FdState& s = fds_[size_t(fd)];
      if (s.accept) post(s.accept, IoOp::Accept, -ECANCELED);
      if (s.recv) post(s.recv, IoOp::Recv, -ECANCELED);
      if (s.recv_into) post(s.recv_into, IoOp::RecvInto, -ECANCELED);
      if (s.send) post(s.send, s.send_msg ? IoOp::SendMsg : IoOp::Send, -ECANCELED);
      if (s.connect) post(s.connect, IoOp::Connect, -ECANCELED);
      // The fd number is reused after close(): forget everything about it now.
      if (s.registered) epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
      const bool queued = s.queued;
      s = FdState{};
      s.queued = queued;  // the work list (or sends_) may still name it: it finds nothing to do
    }
    post(h, IoOp::Cancel, 0);
  }

  int wait(int timeout_ms, Loop& loop) override {
    loop_ = &loop;
    flush_sends();  // submitted between turns (timers): written before any sleep
    for (int round = 0; round < 64; ++round) {
      if (round == 0) {  // later rounds only serve what handlers submitted meanwhile
        const bool busy = !done_.empty() || !work_.empty();
        epoll_event events[256];
        const int n = epoll_wait(epfd_, events, 256, busy || timeout_ms == 0 ? 0 : -1);
        if (n < 0 && errno != EINTR) return -errno;
        loop.begin_turn();
        for (int i = 0; i < n; ++i) {
          const int fd = events[i].data.fd;
          if (fd == tick_fd_) {
            uint64_t expirations;
            [[maybe_unused]] ssize_t r = ::read(tick_fd_, &expirations, sizeof expirations);
            continue;
          }
          if (size_t(fd) >= fds_.size()) continue;
          FdState& s = fds_[size_t(fd)];
          if (!s.registered) continue;
          const uint32_t e = events[i].events;
          if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) s.readable = true;
          if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) s.peer_closed = true;
          if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) s.writable = true;
          enqueue(fd);
        }
      }
      run_work();
      flush_sends();
      if (done_.empty() && work_.empty()) return 0;
      while (!done_.empty()) {
        const Pending p = done_.front();
        done_.pop_front();
        loop.deliver(p.handler, p.completion);
      }
      // Handlers submitted more (sends that completed at once, re-armed receives):
      // serve them in this turn too, without sleeping.
    }
    return 0;
  }

 private:
  FdState& state(int fd) {
    if (size_t(fd) >= fds_.size()) fds_.resize(size_t(fd) + 64);
    FdState& s = fds_[size_t(fd)];
    if (!s.registered) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      ev.data.fd = fd;
      if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0) s.registered = true;
    }
    return s;
  }

  void enqueue(int fd) {
    FdState& s = fds_[size_t(fd)];
    if (s.queued) return;
    s.queued = true;
    work_.push_back(fd);
  }

  void post(IoHandler* h, IoOp op, int32_t res, bool more = false) { done_.push_back({h, {op, res, more, nullptr}}); }

  void queue_send(int fd, FdState& s) {
    if (s.send_queued) return;
    s.send_queued = true;
    sends_.push_back(fd);
  }

  // The sends handlers submitted during a round, written back to back once its reads
  // are done, as io_uring submits a turn's SQEs together. Each send that wakes a peer
  // (wrk, a model server) on this CPU lets it preempt us on the way back to user
  // space; writing a send from inside the handler that made it interleaved every
  // request with such a switch (0.2 involuntary switches per request against 0.01 on
  // io_uring), and the peer then took one request per wakeup instead of a batch.
  // With Linux AIO at hand (aio_batch.h), the batch costs one io_submit, not a
  // syscall per send (each ~1 us of CPU in a VM), and the return to user space that
  // lets a woken peer preempt us comes once per batch, as with io_uring.
  void flush_sends() {
    for (size_t i = 0; i < sends_.size(); ++i) {  // (no handler runs in here: sends_ stays put)
      const int fd = sends_[i];
      FdState& s = fds_[size_t(fd)];
      if (!s.send_queued) continue;  // cancelled meanwhile (cancel_fd reset the state)
      s.send_queued = false;
      if (!s.send) continue;
      if (!aio_.usable()) {
        finish_send(fd, s);
        continue;
      }
      if (s.send_msg) aio_.add_writev(fd, s.send_msg->msg_iov, s.send_msg->msg_iovlen, uint64_t(fd));
      else aio_.add_write(fd, s.send_data, s.send_len, uint64_t(fd));
      if (aio_.full()) run_aio_sends();
    }
    sends_.clear();
    if (!aio_.empty()) run_aio_sends();
  }

  void run_aio_sends() {
    aio_.run(
        [this](uint64_t fd, int64_t res) {
          FdState& s = fds_[size_t(fd)];
          if (res == -EAGAIN) {  // no room: the send waits for EPOLLOUT (finish_send)
            s.writable = false;
            return;
          }
          post(s.send, s.send_msg ? IoOp::SendMsg : IoOp::Send, int32_t(res));
          s.send = nullptr;
          s.send_msg = nullptr;
        },
        [this](uint64_t fd) { finish_send(int(fd), fds_[size_t(fd)]); });
  }

  void run_work() {
    const size_t count = work_.size();
    for (size_t i = 0; i < count; ++i) {
      const int fd = work_.front();
      work_.pop_front();
      FdState& s = fds_[size_t(fd)];
      s.queued = false;
      if (!s.registered) continue;
      bool again = false;
      if (s.writable && s.connect) finish_connect(fd, s);
      if (s.writable && s.send && !s.send_queued) finish_send(fd, s);
      if (s.readable && s.accept) again |= run_accept(fd, s);
      if (s.readable && s.recv_into) run_recv_into(fd, s);
      if (s.readable && s.recv) {
        if (aio_.usable()) queue_read(fd, s);
        else again |= run_recv(fd, s);
      }
      if (again) enqueue(fd);
    }
    if (!reads_.empty()) run_reads();
  }

  // The round's receives in one io_submit, each into a buffer of its own; then each
  // result is handled as run_recv() handles one. One read per fd per round: a full
  // buffer puts the fd back in the work list for the next round (fairness).
  void queue_read(int fd, FdState& s) {
    const size_t slot = reads_.size();
    reads_.push_back({fd, s.recv});
    aio_.add_read(fd, read_buffers_.data() + slot * buffer_size_, buffer_size_, slot);
    if (reads_.size() == kReadBatch) run_reads();
  }

  void run_reads() {
    // Completions queued before the batch go before its data (order per handler);
    // the ones its deliveries queue (a cancel, say) come after: as io_uring orders
    // the CQEs of data received before the cancel was asked for.
    early_ = done_.size();
    aio_.run([this](uint64_t slot, int64_t res) { read_done(reads_[slot], read_buffers_.data() + slot * buffer_size_, res); },
             [this](uint64_t slot) {
               // io_submit would not take it: the plain receive path.
               const int fd = reads_[slot].fd;
               FdState& s = fds_[size_t(fd)];
               if (s.recv != reads_[slot].handler) return;
               flush_early();
               if (run_recv(fd, s)) enqueue(fd);
             });
    reads_.clear();
    early_ = 0;
  }

  void read_done(const ReadSlot& slot, const char* data, int64_t res) {
    flush_early();
    FdState& s = fds_[size_t(slot.fd)];  // the same socket: none is closed before the turn ends
    if (res > 0) {
      // Delivered even when an earlier delivery of this batch cancelled the receive
      // (its final completion is still queued, so the handler is alive): these bytes
      // came before the cancel. A retired handler is skipped by the loop.
      deliver_now(slot.handler, {IoOp::Recv, int32_t(res), true, data});
      if (size_t(res) < buffer_size_ && !s.peer_closed) s.readable = false;  // the next edge tells
      else enqueue(slot.fd);  // more may wait (or the EOF after RDHUP): next round
      return;
    }
    if (res == -EAGAIN) {
      s.readable = false;
      return;
    }
    if (s.recv != slot.handler) return;  // cancelled meanwhile: its final completion is queued
    if (res == -EINTR) return enqueue(slot.fd);
    post(s.recv, IoOp::Recv, res == 0 ? 0 : int32_t(res), /*more=*/false);
    s.recv = nullptr;
  }

  void flush_early() {
    for (; early_ > 0 && !done_.empty(); --early_) {
      const Pending p = done_.front();
      done_.pop_front();
      loop_->deliver(p.handler, p.completion);
    }
  }

  void finish_connect(int fd, FdState& s) {
    int error = 0;
    socklen_t len = sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
    post(s.connect, IoOp::Connect, error ? -error : 0);
    s.connect = nullptr;
  }

  void finish_send(int fd, FdState& s) {
    const ssize_t n = s.send_msg ? ::sendmsg(fd, s.send_msg, MSG_NOSIGNAL | MSG_DONTWAIT)
                                 : ::send(fd, s.send_data, s.send_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN) {
      s.writable = false;
      return;
    }
    post(s.send, s.send_msg ? IoOp::SendMsg : IoOp::Send, n < 0 ? -errno : int32_t(n));
    s.send = nullptr;
    s.send_msg = nullptr;
  }

  // A plain recv() straight into the handler's buffer (no batching: a body of many
  // KB per call, not worth an io_submit's bookkeeping). Posted, not delivered at once:
  // the handler owns the bytes, nothing here reuses them.
  // wait_all: short reads accumulate until the buffer is full (MSG_WAITALL's meaning),
  // or the FIN or an error ends it with what came.
  void run_recv_into(int fd, FdState& s) {
    for (;;) {
      ssize_t n;
      do {
        n = ::recv(fd, s.recv_buffer + s.recv_done, s.recv_len - s.recv_done, MSG_DONTWAIT);
      } while (n < 0 && errno == EINTR);
      if (n < 0 && errno == EAGAIN) {
        s.readable = false;  // the next edge tells
        return;
      }
      if (n > 0) s.recv_done += size_t(n);
      const bool full = s.recv_done == s.recv_len;
      if (n > 0 && !full && s.recv_wait_all) continue;  // try again: EAGAIN says when it is empty
      if (n > 0 && !full && !s.peer_closed) s.readable = false;  // a short read emptied the socket
      const int32_t res = n < 0 && s.recv_done == 0 ? -errno : int32_t(s.recv_done);
      post(s.recv_into, IoOp::RecvInto, res);
      s.recv_into = nullptr;
      return;
    }
  }

  // True when the fd may have more right now (the burst ran out).
  bool run_accept(int fd, FdState& s) {
    for (int i = 0; i < kBurst; ++i) {
      const int client = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) {
        post(s.accept, IoOp::Accept, client, /*more=*/true);
        continue;
      }
      if (errno == EAGAIN) {
        s.readable = false;
        return false;
      }
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // EMFILE, ENFILE, ENOMEM...: the multishot ends; its owner backs off and re-arms.
      post(s.accept, IoOp::Accept, -errno, /*more=*/false);
      s.accept = nullptr;
      return false;
    }
    return true;
  }

  bool run_recv(int fd, FdState& s) {
    for (int i = 0; i < kBurst && s.recv; ++i) {
      const ssize_t n = ::recv(fd, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
      if (n > 0) {
        // Delivered at once (the bytes live in this one buffer): the handler copies or
        // consumes them now, as with a provided buffer that goes back after its CQE.
        IoHandler* h = s.recv;
        flush_done();
        deliver_now(h, {IoOp::Recv, int32_t(n), true, buffer_.data()});
        // (fds_ is a deque: growing it from the handler leaves `s` where it is.)
        if (size_t(n) < buffer_.size() && !s.peer_closed) {
          s.readable = false;  // a short read emptied the socket: the next edge tells us more
          return false;
        }
        continue;
      }
      if (n < 0 && errno == EAGAIN) {
        s.readable = false;
        return false;
      }
      if (n < 0 && errno == EINTR) continue;
      post(s.recv, IoOp::Recv, n == 0 ? 0 : -errno, /*more=*/false);
      s.recv = nullptr;
      return false;
    }
    return s.recv != nullptr;
  }

  // Completions queued before the data one go first (order per handler is kept).
  void flush_done() {
    early_ = 0;
    while (!done_.empty()) {
      const Pending p = done_.front();
      done_.pop_front();
      loop_->deliver(p.handler, p.completion);
    }
  }
  void deliver_now(IoHandler* h, const Completion& c) { loop_->deliver(h, c); }

  Loop* loop_ = nullptr;
  int epfd_ = -1;
  int tick_fd_ = -1;
  std::deque<FdState> fds_;  // a deque: references survive growth
  std::deque<int> work_;
  std::vector<int> sends_;  // fds with a send submitted and not yet tried
  std::deque<Pending> done_;
  std::vector<char> buffer_;
  AioBatch aio_;
  std::vector<ReadSlot> reads_;     // the receives of the batch being built
  std::vector<char> read_buffers_;  // kReadBatch buffers of buffer_size_
  size_t buffer_size_ = 0;
  size_t early_ = 0;  // run_reads: entries at the front of done_ queued before the batch
};

}  // namespace

std::unique_ptr<IoBackend> make_epoll_backend() { return std::make_unique<EpollBackend>(); }

}  // namespace ringgate::net
