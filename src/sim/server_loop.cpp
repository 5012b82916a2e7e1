#include "ringgate/sim/server_loop.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <limits>

#include "ringgate/sim/monotonic_clock.h"

namespace ringgate::sim {
namespace {

EngineConfig engine_config(const SimOptions& o) {
  EngineConfig c;
  c.max_num_seqs = o.max_num_seqs;
  c.max_waiting = o.max_waiting;
  c.block_size = o.block_size;
  c.kv_blocks = o.kv_blocks;
  c.max_loras = o.max_loras;
  c.max_model_len = o.max_model_len;
  c.num_loras = static_cast<uint32_t>(o.loras.size());
  c.latency = LatencyModel{o.prefill_overhead_ms, o.prefill_time_per_token_us, o.inter_token_latency_ms,
                           o.kv_transfer_time_per_block_us, o.speed};
  c.latency.kv_offload_load_time_per_block_us = o.kv_offload_load_time_per_block_us;
  c.kv_events = o.kv_events.publishing();
  c.max_num_batched_tokens = o.max_num_batched_tokens;
  c.kv_connector = !o.kv_transfer.kv_connector.empty();
  c.cpu_kv_blocks = o.kv_transfer.num_cpu_blocks;
  c.held_transfer_timeout_ns = static_cast<uint64_t>(o.nixl_abort_request_timeout_s * 1e9);
  c.max_held_transfers = o.max_held_kv_transfers;
  return c;
}

uint16_t ss_port(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port);
  return ntohs(reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
}

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

std::string format_address(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
    inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
    port = ntohs(a.sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
  inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof host);
  port = ntohs(a.sin6_port);
  return "[" + std::string(host) + "]:" + std::to_string(port);
}

std::vector<std::unique_ptr<Engine>> make_engines(const SimOptions& o, size_t count) {
  std::vector<std::unique_ptr<Engine>> out;
  for (size_t i = 0; i < count; ++i) out.push_back(std::make_unique<Engine>(engine_config(o)));
  return out;
}

std::vector<Engine*> pointers(const std::vector<std::unique_ptr<Engine>>& engines) {
  std::vector<Engine*> out;
  for (const auto& e : engines) out.push_back(e.get());
  return out;
}

}  // namespace

ServerLoop::ServerLoop(const SimOptions& options)
    : options_(options),
      ranks_(options.local_ranks()),
      engines_(make_engines(options, ranks_.size())),
      pulls_(static_cast<uint64_t>(options.kv_pull_timeout_s * 1e9),
             [this](uint64_t pull, const KvPullOutcome& outcome) { api_.on_pull_done(pull, outcome); }),
      api_(options, pointers(engines_), pulls_),
      start_ns_(monotonic_ns()),
      speed_change_ns_(
          options.speed_change_after_s > 0 ? start_ns_ + static_cast<uint64_t>(options.speed_change_after_s * 1e9) : 0),
      keep_alive_ns_(static_cast<uint64_t>(options.timeout_keep_alive_s * 1e9)) {}

ServerLoop::~ServerLoop() {
  connections_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (signal_fd_ >= 0) ::close(signal_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

std::string ServerLoop::start() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) return errno_text("sigprocmask");
  ::signal(SIGPIPE, SIG_IGN);
  signal_fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd_ < 0) return errno_text("signalfd");

  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return errno_text("epoll_create1");
  pulls_.set_epoll(epoll_fd_);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(options_.port);
  if (int rc = getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return "cannot resolve --host " + options_.host + ": " + gai_strerror(rc);
  std::string last_error = "no address for --host " + options_.host;
  for (addrinfo* ai = found; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = errno_text("socket");
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // Bound now (the port is ours and known), listening only once ready:
    // vLLM binds its socket before loading the model and serves nothing
    // until then, so a starting server refuses connections.
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      last_error = errno_text(("bind " + options_.host + ":" + port).c_str());
      ::close(fd);
      continue;
    }
    listen_fd_ = fd;
    break;
  }
  freeaddrinfo(found);
  if (listen_fd_ < 0) return last_error;

  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  address_ = format_address(bound);
  // NixlConnector's remote_host / remote_port: this sim's HTTP address, reachable from the
  // same machine when bound to every interface (VLLM_NIXL_SIDE_CHANNEL_HOST overrides the host).
  {
    std::string host = address_.substr(0, address_.rfind(':'));
    if (host == "0.0.0.0") host = "127.0.0.1";
    else if (host == "[::]") host = "::1";
    else if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    if (const char* side = std::getenv("VLLM_NIXL_SIDE_CHANNEL_HOST"); side && *side) host = side;
    const uint16_t port = ss_port(bound);
    api_.set_kv_transfer_address(std::move(host), port);
  }

  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = signal_fd_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, signal_fd_, &ev) != 0) return errno_text("epoll_ctl");
  // After the signal mask is set: ZMQ's threads inherit it, so SIGTERM reaches the signalfd.
  // One publisher per data-parallel rank, on the endpoints offset by the rank as vLLM's
  // ZmqEventPublisher.offset_endpoint_port does (port + rank).
  // Every rank's endpoints are checked before any socket opens.
  if (options_.kv_events.publishing()) {
    std::vector<KvEventsConfig> configs;
    for (uint32_t rank : ranks_) {
      std::string error;
      KvEventsConfig config = options_.kv_events;
      config.endpoint = offset_endpoint_port(options_.kv_events.endpoint, rank, error);
      if (!error.empty()) return error;
      config.replay_endpoint = offset_endpoint_port(options_.kv_events.replay_endpoint, rank, error);
      if (!error.empty()) return error;
      configs.push_back(std::move(config));
    }
    for (const KvEventsConfig& config : configs) {
      std::string error;
      auto publisher = KvEventPublisher::start(config, error);
      if (!publisher) return error;
      kv_events_.push_back(std::move(publisher));
    }
  }
  return {};
}

bool ServerLoop::wait_until_ready() {
  const uint64_t ready_at = start_ns_ + static_cast<uint64_t>(options_.startup_delay_s * 1e9);
  for (uint64_t now = monotonic_ns(); now < ready_at; now = monotonic_ns()) {
    epoll_event event;
    int ms = int(std::min<uint64_t>((ready_at - now + 999999) / 1000000, 1000));
    int n = epoll_wait(epoll_fd_, &event, 1, ms);
    if (n > 0 && event.data.fd == signal_fd_) {
      signalfd_siginfo info;
      while (::read(signal_fd_, &info, sizeof info) == sizeof info) {
      }
      return false;
    }
  }
  return true;
}

std::string ServerLoop::begin_listening() {
  if (::listen(listen_fd_, 4096) != 0) return errno_text(("listen on " + address_).c_str());
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) return errno_text("epoll_ctl");
  return {};
}

ServerLoop::Connection* ServerLoop::find(int fd) {
  if (fd < 0 || size_t(fd) >= connections_.size()) return nullptr;
  return connections_[size_t(fd)].get();
}

void ServerLoop::accept_all() {
  while (true) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) std::fprintf(stderr, "ringgate-sim: accept: %s\n", std::strerror(errno));
      return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // SSE tokens go out one by one
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      continue;
    }
    if (size_t(fd) >= connections_.size()) connections_.resize(size_t(fd) + 64);
    auto c = std::make_unique<Connection>();
    c->session = std::make_unique<HttpSession>(fd, api_, touched_);
    connections_[size_t(fd)] = std::move(c);
    ++open_connections_;
  }
}

void ServerLoop::close_connection(int fd) {
  Connection* c = find(fd);
  if (!c) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  connections_[size_t(fd)].reset();  // closes the fd; cancels its running sequence
  --open_connections_;
}

void ServerLoop::watch_writes(int fd, Connection& c, bool on) {
  if (c.watching_writes == on) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u);
  ev.data.fd = fd;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
  c.watching_writes = on;
}

void ServerLoop::on_signal() {
  signalfd_siginfo info;
  bool stop = false;
  while (::read(signal_fd_, &info, sizeof info) == sizeof info) stop = true;
  if (stop) start_drain();
}

void ServerLoop::start_drain() {
  if (draining_) return;
  draining_ = true;
  std::fprintf(stderr, "ringgate-sim: draining %u running and %u waiting requests, then exiting\n", running(),
               waiting());
  if (listen_fd_ >= 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  std::vector<int> idle;
  for (size_t fd = 0; fd < connections_.size(); ++fd) {
    Connection* c = connections_[fd].get();
    if (!c) continue;
    if (c->session->idle()) idle.push_back(int(fd));
    else c->session->close_when_idle();
  }
  for (int fd : idle) close_connection(fd);
}

uint32_t ServerLoop::running() const {
  uint32_t n = 0;
  for (const auto& e : engines_) n += e->running();
  return n;
}

uint32_t ServerLoop::waiting() const {
  uint32_t n = 0;
  for (const auto& e : engines_) n += e->waiting();
  return n;
}

void ServerLoop::process_touched() {
  do {
    const uint64_t now = monotonic_ns();
    for (auto& e : engines_) e->advance(now);
    std::vector<int> batch;
    batch.swap(touched_);
    for (int fd : batch) {
      Connection* c = find(fd);
      if (!c) continue;
      if (c->session->after_events() == SessionState::close) {
        close_connection(fd);
        continue;
      }
      watch_writes(fd, *c, c->session->wants_write());
    }
  } while (!touched_.empty());
}

void ServerLoop::flush_kv_events() {
  for (size_t i = 0; i < kv_events_.size(); ++i) {
    std::vector<kvevents::KvEvent> events = engines_[i]->take_kv_events();
    if (events.empty()) continue;  // vLLM publishes a batch only for a step with events
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    // Each batch says which data-parallel rank it comes from, as vLLM's scheduler stamps it.
    kv_events_[i]->publish({double(ts.tv_sec) + double(ts.tv_nsec) / 1e9, std::move(events), ranks_[i]});
  }
}

void ServerLoop::close_idle_connections(uint64_t now_ns) {
  std::vector<int> idle;
  for (size_t fd = 0; fd < connections_.size(); ++fd) {
    Connection* c = connections_[fd].get();
    if (!c || !c->session->idle()) continue;
    uint64_t since = c->session->last_activity_ns();
    if (since <= now_ns && now_ns - since >= keep_alive_ns_) idle.push_back(int(fd));
  }
  for (int fd : idle) close_connection(fd);
}

int ServerLoop::run() {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  while (!(draining_ && open_connections_ == 0)) {
    uint64_t due = std::numeric_limits<uint64_t>::max();
    for (const auto& e : engines_) due = std::min(due, e->next_due_ns());
    if (speed_change_ns_ != 0) {
      if (monotonic_ns() >= speed_change_ns_) {
        speed_change_ns_ = 0;
        for (auto& e : engines_) e->set_speed(options_.speed_change_to);
        std::fprintf(stderr, "ringgate-sim: speed now %g (--speed-after)\n", options_.speed_change_to);
      } else {
        due = std::min(due, speed_change_ns_);
      }
    }
    if (keep_alive_ns_ > 0 && open_connections_ > 0) {
      uint64_t now = monotonic_ns();
      if (now >= next_idle_sweep_ns_) {
        close_idle_connections(now);
        // Sweeping a few times per timeout closes idle connections within ~25 % of it.
        next_idle_sweep_ns_ = now + std::max<uint64_t>(keep_alive_ns_ / 4, 1000000);
      }
      due = std::min(due, next_idle_sweep_ns_);
    }
    due = std::min(due, pulls_.next_deadline_ns());
    timespec timeout{};
    timespec* timeout_ptr = nullptr;  // no deadline: wait for I/O
    if (due != std::numeric_limits<uint64_t>::max()) {
      uint64_t now = monotonic_ns();
      uint64_t wait = due > now ? due - now : 0;
      timeout.tv_sec = time_t(wait / 1000000000ull);
      timeout.tv_nsec = long(wait % 1000000000ull);
      timeout_ptr = &timeout;
    }
    int n = epoll_pwait2(epoll_fd_, events, kMaxEvents, timeout_ptr, nullptr);
    if (n < 0 && errno == ENOSYS) {  // kernels before 5.11: millisecond timeouts
      int ms = timeout_ptr ? int(timeout.tv_sec * 1000 + (timeout.tv_nsec + 999999) / 1000000) : -1;
      n = epoll_wait(epoll_fd_, events, kMaxEvents, ms);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "ringgate-sim: epoll: %s\n", std::strerror(errno));
      return 1;
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      const uint32_t ev = events[i].events;
      if (fd == listen_fd_) {
        accept_all();
        continue;
      }
      if (fd == signal_fd_) {
        on_signal();
        continue;
      }
      if (pulls_.owns(fd)) {
        pulls_.on_event(fd, ev);
        continue;
      }
      Connection* c = find(fd);
      if (!c) continue;
      if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        if (c->session->on_readable() == SessionState::close) {
          close_connection(fd);
          continue;
        }
      }
      if (ev & EPOLLOUT) touched_.push_back(fd);
    }
    pulls_.expire(monotonic_ns());
    process_touched();
    flush_kv_events();
  }
  flush_kv_events();
  std::fprintf(stderr, "ringgate-sim: drained, exiting\n");
  return 0;
}

}  // namespace ringgate::sim
