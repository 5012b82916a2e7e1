#include "ringgate/epp/ext_proc_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <future>

#include "ringgate/epp/grpc_connection.h"
#include "ringgate/epp/grpc_health.h"
#include "ringgate/net/listener.h"
#include "ringgate/net/loop.h"

namespace ringgate::epp {

namespace {

constexpr uint64_t kTickMs = 100;
// The Gateway is one client with many streams: its cancels (a downstream client gone) and
// PINGs come at its request rate, not a hostile one's. Still bounded.
constexpr uint32_t kMaxResetsPerSecond = 20000;
constexpr uint32_t kMaxControlFramesPerSecond = 1000;

}  // namespace

class EppThread;

struct ExtProcServer::Impl {
  explicit Impl(size_t threads) : tls(threads) {}
  std::unique_ptr<CheckedCertFiles> cert_files;  // --enable-cert-reload
  uint64_t cert_generation = 0;
  net::TlsPublisher tls;  // the ext-proc port's context (none: plain text)
  bool secure = false;
  HealthBoard health_board;
  std::atomic<bool> stop{false};
  uint64_t drain_ms = 0;
  std::vector<std::unique_ptr<EppThread>> threads;
};

// One listening socket of a thread: its accepts.
struct Acceptor final : net::IoHandler {
  Acceptor(EppThread& t, bool secure_port) : thread(t), secure(secure_port) {}
  void on_completion(const net::Completion& c) override;
  EppThread& thread;
  bool secure;
  int fd = -1;
  bool armed = false;
};

// One EPP thread: its loop, its sockets on both ports, its connections, its ticks.
class EppThread final : public net::TimerTarget {
 public:
  EppThread(ExtProcServer::Impl& shared, const ExtProcServerOptions& options, EppWorker& worker, size_t index)
      : shared_(shared), options_(options), worker_(worker), index_(index), tls_reader_(shared.tls.reader(index)) {
    rt_.worker = &worker_;
    rt_.health = &shared_.health_board;
    rt_.limits = options_.worker.options.http2;
    rt_.limits.request = options_.worker.options.limits;
    rt_.limits.max_concurrent_streams = uint32_t(std::max(1, options_.max_concurrent_streams));
    rt_.limits.max_resets_per_second = kMaxResetsPerSecond;
    rt_.limits.max_control_frames_per_second = kMaxControlFramesPerSecond;
    rt_.limits.stream_bodies = true;
    // A BUFFERED body arrives as one message: the body limit plus room for the framing.
    rt_.max_message_bytes = options_.worker.options.limits.max_body_bytes + (64u << 10);
    // timeouts.headerRead (--header-timeout-ms): a connection's first request head, TLS and
    // the HTTP/2 preface included, as an HTTP/1.1 connection's.
    rt_.first_stream_timeout_ms = options_.worker.options.header_timeout_ms;
  }

  ~EppThread() override {
    loop_.drop_retired();
    while (rt_.all) delete rt_.all;
    loop_.drop_retired();
    for (Acceptor* a : {&api_, &health_})
      if (a->fd >= 0) ::close(a->fd);
    tls_reader_.release();
  }

  // On the thread: the loop, and the sockets bound (port 0: the first thread's choice is
  // everyone's). Empty string = success.
  std::string init(const net::Address& listen, const net::Address* health_listen) {
    net::LoopOptions loop_options;
    loop_options.backend = options_.backend;
    loop_options.buffer_count = options_.worker.options.buffer_count;
    loop_options.buffer_size = options_.worker.options.buffer_size;
    if (std::string error = loop_.init(loop_options); !error.empty()) return error;
    rt_.loop = &loop_;
    if (std::string error = bind(api_, listen); !error.empty()) return error;
    if (health_listen) return bind(health_, *health_listen);
    return {};
  }

  net::Address address(bool health) const { return *net::local_address(health ? health_.fd : api_.fd); }

  void run() {
    loop_.set_turn_hook([this] { worker_.refresh(); });
    tls_ = tls_reader_.refresh();  // (published before the threads start)
    for (Acceptor* a : {&api_, &health_})
      if (a->fd >= 0) arm(*a);
    loop_.timers().arm(tick_, kTickMs, loop_.now_ms());
    while (!finished_) {
      const int rc = loop_.run_once(-1);
      if (rc < 0) {
        std::fprintf(stderr, "ringgate: EPP thread %zu: event loop: %s\n", index_, std::strerror(-rc));
        break;
      }
    }
  }

  void accepted(Acceptor& a, int fd) {
    if (rt_.draining) {
      ::close(fd);
      return;
    }
    net::set_nodelay(fd);
    // A reloaded certificate is every thread's from the next connection on.
    if (a.secure && shared_.secure)
      if (const net::TlsContext* tls = tls_reader_.refresh()) tls_ = tls;
    SSL_CTX* ctx = a.secure && shared_.secure ? tls_->ctx() : nullptr;
    auto* connection = new GrpcConnection(rt_, fd, ctx);
    connection->start();
  }

  void accept_failed(Acceptor& a) {
    a.armed = false;
    if (!rt_.draining) retry_accept_ = true;  // at the next tick, not in a spin
  }

  void on_timer(net::Timer&) override {
    worker_.tick();
    if (index_ == 0) {
      if (options_.ready && !shared_.health_board.stopping.load()) shared_.health_board.serving.store(options_.ready());
      if (shared_.cert_files && shared_.cert_files->generation() != shared_.cert_generation) reload_certificate();
    }
    if (const net::TlsContext* tls = tls_reader_.refresh()) tls_ = tls;
    if (retry_accept_) {
      retry_accept_ = false;
      for (Acceptor* a : {&api_, &health_})
        if (a->fd >= 0 && !a->armed) arm(*a);
    }
    if (shared_.stop.load(std::memory_order_acquire) && !rt_.draining) start_draining();
    for (GrpcConnection* c = rt_.all; c != nullptr; c = c->next) c->tick();
    if (rt_.draining) {
      if (rt_.connections == 0) {
        finished_ = true;
        return;
      }
      if (loop_.now_ms() >= drain_deadline_ms_) {
        for (GrpcConnection* c = rt_.all; c != nullptr;) {
          GrpcConnection* next = c->next;
          c->close();
          c = next;
        }
        finished_ = true;
        return;
      }
    }
    loop_.timers().arm(tick_, kTickMs, loop_.now_ms());
  }

 private:
  std::string bind(Acceptor& a, const net::Address& address) {
    net::ListenResult listener = net::bind_tcp(address, /*reuse_port=*/true);
    if (listener.fd < 0) return listener.error;
    a.fd = listener.fd;
    return net::start_listening(a.fd);
  }

  void arm(Acceptor& a) {
    a.armed = true;
    loop_.accept(a.fd, &a);
  }

  void reload_certificate() {
    const uint64_t generation = shared_.cert_files->generation();
    auto loaded = load_checked(*shared_.cert_files);
    if (!loaded) {
      std::fprintf(stderr, "ringgate: ext-proc TLS: reload: %s\n", loaded.error().message.c_str());
      return;  // the checked copy only holds good pairs: tried again at its next change
    }
    shared_.cert_generation = generation;
    shared_.tls.publish(std::move(loaded.value()));
    std::fprintf(stderr, "ringgate: ext-proc TLS: certificate reloaded\n");
  }

  // GOAWAY on every connection; Watch streams get NOT_SERVING and end; new connections
  // are not taken; the loop ends once every connection closed, or at the drain deadline.
  void start_draining() {
    rt_.draining = true;
    drain_deadline_ms_ = loop_.now_ms() + shared_.drain_ms;
    for (Acceptor* a : {&api_, &health_}) {
      if (a->fd < 0) continue;
      shutdown(a->fd, SHUT_RDWR);
      loop_.cancel_fd(a->fd, a);
    }
    for (GrpcConnection* c = rt_.all; c != nullptr; c = c->next) c->drain_started();
  }

  ExtProcServer::Impl& shared_;
  const ExtProcServerOptions& options_;
  EppWorker& worker_;
  size_t index_;
  net::Loop loop_;
  GrpcRuntime rt_;
  Acceptor api_{*this, true};
  Acceptor health_{*this, false};
  net::TlsPublisher::Reader tls_reader_;
  const net::TlsContext* tls_ = nullptr;
  net::Timer tick_{this, 0};
  uint64_t drain_deadline_ms_ = 0;
  bool retry_accept_ = false;
  bool finished_ = false;
};

void Acceptor::on_completion(const net::Completion& c) {
  if (c.op != net::IoOp::Accept) return;
  if (c.res >= 0) return thread.accepted(*this, c.res);
  if (!c.more) thread.accept_failed(*this);
}

ExtProcServer::ExtProcServer(ExtProcServerOptions options)
    : options_(std::move(options)), impl_(new Impl(std::max(1u, options_.threads))) {
  options_.worker.workers = std::max(1u, options_.threads);
  for (unsigned i = 0; i < std::max(1u, options_.threads); ++i)
    workers_.push_back(std::make_unique<EppWorker>(options_.worker, int(i)));
}

ExtProcServer::~ExtProcServer() { stop(0); }

std::string ExtProcServer::start() {
  auto context = ext_proc_tls_context(options_.tls, transport_, impl_->cert_files);
  if (!context) return "ext-proc TLS: " + context.error().message;
  impl_->secure = context.value() != nullptr;
  if (impl_->cert_files) impl_->cert_generation = impl_->cert_files->generation();
  if (context.value()) impl_->tls.publish(std::move(context.value()));
  // One address for both: one port. Two asks for an ephemeral port (":0", as the chart's
  // --grpc-port 0 --grpc-health-port 0 would be) are two ports, as the Go EPP binds them.
  const bool separate_health =
      options_.health_listen.to_string() != options_.listen.to_string() || options_.listen.port() == 0;
  net::Address listen = options_.listen, health_listen = options_.health_listen;
  for (size_t i = 0; i < workers_.size(); ++i) {
    impl_->threads.push_back(std::make_unique<EppThread>(*impl_, options_, *workers_[i], i));
    EppThread* thread = impl_->threads.back().get();
    std::promise<std::string> ready;
    std::future<std::string> result = ready.get_future();
    threads_.emplace_back([thread, listen, health_listen, separate_health, &ready] {
      std::string error = thread->init(listen, separate_health ? &health_listen : nullptr);
      const bool ok = error.empty();
      ready.set_value(std::move(error));
      if (ok) thread->run();
    });
    if (std::string error = result.get(); !error.empty()) {
      stop(0);
      return "cannot listen for ext-proc on " + options_.listen.to_string() +
             (separate_health ? " / health on " + options_.health_listen.to_string() : std::string()) + ": " + error;
    }
    if (i == 0) {
      listen = thread->address(false);
      health_listen = separate_health ? thread->address(true) : listen;
    }
  }
  address_ = listen;
  health_address_ = health_listen;
  started_ = true;
  return {};
}

void ExtProcServer::set_serving(bool serving) { impl_->health_board.serving.store(serving, std::memory_order_relaxed); }

void ExtProcServer::stop(uint32_t drain_ms) {
  if (stopped_) return;
  stopped_ = true;
  set_serving(false);
  impl_->health_board.stopping.store(true);
  impl_->drain_ms = drain_ms;
  impl_->stop.store(true, std::memory_order_release);
  for (auto& t : threads_) t.join();
  threads_.clear();
  impl_->threads.clear();
}

}  // namespace ringgate::epp
