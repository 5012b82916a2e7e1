#include "ringgate/proxy/worker.h"

#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "ringgate/config/inference_objective.h"
#include "ringgate/config/rewrite_table.h"
#include "ringgate/http/error_response.h"
#include "ringgate/net/buffer_ring.h"
#include "ringgate/net/listener.h"
#include "ringgate/net/ring.h"
#include "ringgate/openai/request_body.h"
#include "ringgate/proxy/connection.h"
#include "ringgate/proxy/forward_head.h"
#include "ringgate/proxy/upstream_pool.h"
#include "ringgate/util/json_text.h"

namespace ringgate::proxy {

namespace {

// What a CQE completes: the low 4 bits of user_data (Socket objects are 16-aligned).
enum Op : uint64_t { kAccept = 1, kTick = 2, kRecv = 3, kSend = 4, kConnect = 5, kCancel = 6, kSendMsg = 7 };
constexpr uint64_t kOpMask = 15;
constexpr uint16_t kBufferGroup = 1;
constexpr uint32_t kTickMs = 100;
constexpr uint64_t kDrainIdleGraceMs = 1000;  // draining: idle keep-alive connections stay open this long
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// llm-d's flow identity (fairness_id label). A client picks it, so it is bounded: a long
// or control-byte value reads as "other", and the stats table caps how many there are.
constexpr std::string_view kFairnessIdHeader = "x-llm-d-inference-fairness-id";
constexpr size_t kMaxFairnessIdBytes = 128;

uint64_t monotonic_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

uint64_t steady_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

uint64_t tag(Socket* socket, Op op) { return reinterpret_cast<uintptr_t>(socket) | op; }

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

bool is_proxied_path(std::string_view path) {
  return path == "/v1/completions" || path == "/v1/chat/completions" || path == "/v1/embeddings" ||
         path == "/v1/responses";
}

}  // namespace

class WorkerLoop {
 public:
  WorkerLoop(const WorkerContext& context, int index)
      : context_(context),
        options_(context.options),
        index_(index),
        router_(context.router, size_t(index), stats_),
        rng_(0x7e11ull * uint64_t(index + 1)) {
    if (options_.access_log_ring_slots) stats_.access_log.enable(options_.access_log_ring_slots);
  }

  ~WorkerLoop() {
    while (all_) destroy(all_);
    if (listen_fd_ >= 0) close(listen_fd_);
  }

  std::string init(const net::Address& listen) {
    net::RingOptions ring_options;
    ring_options.sq_entries = 2048;
    ring_options.cq_factor = 4;
    if (std::string error = ring_.init(ring_options); !error.empty()) return error;
    if (std::string error = buffers_.init(ring_.raw(), kBufferGroup, options_.buffer_count, options_.buffer_size);
        !error.empty()) {
      return error;
    }
    net::ListenResult listener = net::listen_tcp(listen, /*reuse_port=*/true);
    if (listener.fd < 0) return listener.error;
    listen_fd_ = listener.fd;
    listen_address_ = *net::local_address(listen_fd_);
    return {};
  }

  net::Address listen_address() const { return listen_address_; }
  const WorkerCounters& counters() const { return counters_; }
  const metrics::WorkerStats& stats() const { return stats_; }
  void stop() { stop_requested_.store(true, std::memory_order_release); }

  void run() {
    now_ = monotonic_ms();
    adopt_published_state();
    arm_accept();
    arm_tick();
    while (!finished_) {
      const int rc = ring_.submit_and_wait();
      if (rc < 0 && rc != -EINTR && rc != -ETIME && rc != -EBUSY) {
        std::fprintf(stderr, "ringgate: worker %d: io_uring_submit_and_wait: %s\n", index_, std::strerror(-rc));
        break;
      }
      now_ = monotonic_ms();
      adopt_published_state();
      unsigned head;
      unsigned seen = 0;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(ring_.raw(), head, cqe) {
        const uint64_t user_data = cqe->user_data;
        const int32_t res = cqe->res;
        const uint32_t flags = cqe->flags;
        ++seen;
        dispatch(user_data, res, flags);
        if (seen >= 256) break;  // bounded batch: let the CQ head move
      }
      io_uring_cq_advance(ring_.raw(), seen);
    }
  }

 private:
  // What the control plane published since the last loop turn: the newest endpoint
  // snapshot (lock-free) and, when a reload moved their version, the request rules.
  void adopt_published_state() {
    router_.refresh();
    if (context_.rules != nullptr && context_.rules->version() != rules_version_) {
      rules_version_ = context_.rules->version();
      rules_ = context_.rules->current();
    }
  }

  // ---- completion dispatch ------------------------------------------------------------

  void dispatch(uint64_t user_data, int32_t res, uint32_t flags) {
    const Op op = Op(user_data & kOpMask);
    if (user_data == 0) return;  // completions of cancels that name no socket
    if (op == kAccept) return on_accept(res, flags);
    if (op == kTick) return on_tick();
    Socket* socket = reinterpret_cast<Socket*>(user_data & ~kOpMask);
    const bool last = (flags & IORING_CQE_F_MORE) == 0;
    if (last) --socket->pending;
    switch (op) {
      case kRecv: on_recv(socket, res, flags, last); break;
      case kSend: on_send(static_cast<Client*>(socket), res); break;
      case kSendMsg: on_sendmsg(static_cast<Upstream*>(socket), res); break;
      case kConnect: on_connect(static_cast<Upstream*>(socket), res); break;
      default: break;  // kCancel
    }
    if (socket->closing && socket->pending == 0) destroy(socket);
  }

  // ---- sockets: arming, closing -------------------------------------------------------

  void link(Socket* socket) {
    socket->next = all_;
    if (all_) all_->prev = socket;
    all_ = socket;
  }

  void destroy(Socket* socket) {
    if (socket->prev) socket->prev->next = socket->next;
    else all_ = socket->next;
    if (socket->next) socket->next->prev = socket->prev;
    if (socket->fd >= 0) close(socket->fd);
    if (socket->kind == Socket::Kind::Client) {
      --clients_;
      counters_.connections_closed.add();
      finish_objective(static_cast<Client*>(socket));
      delete static_cast<Client*>(socket);
    } else {
      delete static_cast<Upstream*>(socket);
    }
  }

  // Closing an fd does not cancel its operations: cancel them all by fd, and free the
  // object only when the last CQE that names it has arrived (dispatch()).
  void begin_close(Socket* socket) {
    if (socket->closing) return;
    socket->closing = true;
    socket->deadline_ms = 0;
    shutdown(socket->fd, SHUT_RDWR);
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_cancel_fd(sqe, socket->fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, tag(socket, kCancel));
    ++socket->pending;
  }

  void arm_recv(Socket* socket) {
    if (socket->recv_armed || socket->closing) return;
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_recv_multishot(sqe, socket->fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufferGroup;
    io_uring_sqe_set_data64(sqe, tag(socket, kRecv));
    socket->recv_armed = true;
    ++socket->pending;
  }

  void pause_recv(Socket* socket) {
    socket->recv_wanted = false;
    if (!socket->recv_armed || socket->closing) return;
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_cancel64(sqe, tag(socket, kRecv), 0);
    io_uring_sqe_set_data64(sqe, tag(socket, kCancel));
    ++socket->pending;
  }

  void resume_recv(Socket* socket) {
    socket->recv_wanted = true;
    arm_recv(socket);
  }

  void arm_accept() {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_multishot_accept(sqe, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, kAccept);
    accept_armed_ = true;
  }

  void arm_tick() {
    tick_spec_.tv_sec = 0;
    tick_spec_.tv_nsec = kTickMs * 1000000LL;
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_timeout(sqe, &tick_spec_, 0, 0);
    io_uring_sqe_set_data64(sqe, kTick);
  }

  // ---- accept --------------------------------------------------------------------------

  void on_accept(int32_t res, uint32_t flags) {
    const bool more = (flags & IORING_CQE_F_MORE) != 0;
    if (res >= 0) {
      {  // also while draining: it reached us before the listener closed, serve it (once)
        counters_.connections_accepted.add();
        auto* client = new Client(options_.limits);
        client->fd = res;
        net::set_nodelay(res);
        ++clients_;
        link(client);
        client->deadline_ms = idle_deadline();
        arm_recv(client);
      }
    } else if (res != -ECANCELED && res != -EINTR && res != -ECONNABORTED) {
      if (!accept_error_logged_) {
        std::fprintf(stderr, "ringgate: worker %d: accept: %s\n", index_, std::strerror(-res));
        accept_error_logged_ = true;
      }
    }
    if (!more) {
      accept_armed_ = false;
      if (!draining_) {
        counters_.multishot_rearms.add();
        arm_accept();
      } else {
        close_listener();
      }
    }
  }

  // When a connection with no request started is closed (while draining: soon).
  uint64_t idle_deadline() const {
    if (!draining_) return now_ + options_.client_idle_timeout_ms;
    return now_ + std::min<uint64_t>(kDrainIdleGraceMs, options_.drain_timeout_ms);
  }

  // Draining: connections already in the listener's queue would be reset by close():
  // take them first (gateway replacement: the new process gets every later one).
  void close_listener() {
    if (listen_fd_ < 0) return;
    for (int fd; (fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) on_accept(fd, IORING_CQE_F_MORE);
    // A still-pending multishot accept holds the socket open past close(): stop it listening.
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    listen_fd_ = -1;
  }

  // ---- receive -------------------------------------------------------------------------

  void on_recv(Socket* socket, int32_t res, uint32_t flags, bool last) {
    if (last) socket->recv_armed = false;
    const char* data = nullptr;
    uint16_t buffer_id = 0;
    const bool has_buffer = (flags & IORING_CQE_F_BUFFER) != 0;
    if (has_buffer) {
      buffer_id = uint16_t(flags >> IORING_CQE_BUFFER_SHIFT);
      data = buffers_.data(buffer_id);
    }
    bool ended = false;  // EOF or error: do not re-arm
    if (!socket->closing) {
      if (res > 0 && has_buffer) {
        if (socket->kind == Socket::Kind::Client) {
          on_client_data(static_cast<Client*>(socket), data, size_t(res));
        } else {
          on_upstream_data(static_cast<Upstream*>(socket), data, size_t(res));
        }
      } else if (res == -ENOBUFS) {
        counters_.enobufs_rearms.add();  // not a connection error: the multishot ran dry
      } else if (res == -ECANCELED) {
        // paused or closing
      } else if (res <= 0) {
        ended = true;
        if (socket->kind == Socket::Kind::Client) on_client_eof(static_cast<Client*>(socket));
        else on_upstream_eof(static_cast<Upstream*>(socket));
      }
    }
    if (has_buffer) buffers_.give_back(buffer_id);
    if (last && !ended && !socket->closing && socket->recv_wanted) {
      if (res != -ENOBUFS) counters_.multishot_rearms.add();
      arm_recv(socket);
    }
  }

  // ---- client side ---------------------------------------------------------------------

  void on_client_data(Client* c, const char* data, size_t len) {
    counters_.bytes_from_clients.add(len);
    if (c->in_pos == c->in.size()) {
      c->in.clear();
      c->in_pos = 0;
      if (c->phase == Client::Phase::Reading) {
        // Nothing buffered: parse straight from the receive buffer and keep only what a
        // pipelining client sent beyond the request now being answered.
        c->in_process_input = true;
        const size_t used = parse_span(c, data, len);
        c->in_process_input = false;
        if (used < len && c->phase != Client::Phase::Closing) c->in.append(data + used, len - used);
        bound_input(c);
        return;
      }
    }
    c->in.append(data, len);
    bound_input(c);
    if (c->phase == Client::Phase::Reading) process_input(c);
  }

  // Bounded memory: stop reading a client that sends far ahead of its answers.
  void bound_input(Client* c) {
    if (c->in.size() - c->in_pos > options_.limits.max_header_bytes + 64 * 1024 && c->phase != Client::Phase::Reading) {
      pause_recv(c);
    }
  }

  void on_client_eof(Client* c) {
    if (c->upstream) {
      // The client went away mid-request: drop the upstream at once so the server stops generating.
      counters_.client_disconnects_mid_response.add();
      abandon_upstream(c);
    }
    begin_close(c);
  }

  void process_input(Client* c) {
    c->in_process_input = true;
    parse_requests(c);
    c->in_process_input = false;
  }

  void parse_requests(Client* c) {
    const size_t used = parse_span(c, c->in.data() + c->in_pos, c->in.size() - c->in_pos);
    c->in_pos += used;
    if (c->in_pos == c->in.size()) {
      c->in.clear();
      c->in_pos = 0;
    }
  }

  // Parses requests from `data` while the connection is reading; returns the bytes
  // used (the rest belongs to a pipelined request that must wait for its turn).
  // The bytes must stay put meanwhile: nothing called from here touches c->in.
  size_t parse_span(Client* c, const char* data, size_t len) {
    size_t offset = 0;
    while (c->phase == Client::Phase::Reading && !c->closing) {
      if (offset == len) {
        if (!c->parser.started()) c->deadline_ms = idle_deadline();
        return offset;
      }
      const bool was_started = c->parser.started();
      const http::ParseResult result = c->parser.feed(data + offset, len - offset);
      offset += result.consumed;
      if (!was_started && c->parser.started()) c->request_started_ms = now_;
      if (result.state == http::ParseState::Error) {
        respond_error(c, result.status, status_code_name(result.status), result.reason, /*close=*/true);
        return len;
      }
      if (result.state == http::ParseState::NeedMore) {
        if (c->parser.head_complete()) {
          if (c->parser.request().expect_continue && !c->continue_sent) {
            c->continue_sent = true;
            c->out += kContinue;
            flush(c);
          }
          if (!c->body_started_ms) c->body_started_ms = now_;
          c->deadline_ms = c->body_started_ms + options_.body_timeout_ms;
        } else if (c->parser.started()) {
          c->deadline_ms = c->request_started_ms + options_.header_timeout_ms;
        }
        continue;  // offset reached len: the loop returns above
      }
      c->deadline_ms = 0;
      handle_request(c);
    }
    return offset;
  }

  static std::string_view status_code_name(int status) {
    switch (status) {
      case 408: return "request_timeout";
      case 413: return "body_too_large";
      case 417: return "expectation_failed";
      case 431: return "headers_too_large";
      case 505: return "http_version_not_supported";
      default: return "bad_request";
    }
  }

  void handle_request(Client* c) {
    counters_.requests.add();
    http::Request& request = c->parser.request();
    c->keep_alive = request.keep_alive && !draining_;
    c->http11 = request.version_minor >= 1;
    const std::string_view path = path_of(request.target);
    if (path == "/v1/models") {
      if (request.method != HTTP_GET && request.method != HTTP_HEAD) {
        return respond_error(c, 405, "method_not_allowed", "use GET for /v1/models", !c->keep_alive,
                             "allow: GET\r\n");
      }
      std::string body = context_.catalog->render_json();
      counters_.responses_by_class[2].add();
      http::append_response(c->out, 200, "application/json", body, !c->keep_alive);
      if (request.method == HTTP_HEAD) c->out.resize(c->out.size() - body.size());
      return request_done(c);
    }
    if (!is_proxied_path(path)) {
      return respond_error(c, 404, "not_found", "unknown path", !c->keep_alive);
    }
    if (request.method != HTTP_POST) {
      return respond_error(c, 405, "method_not_allowed", "use POST for this path", !c->keep_alive,
                           "allow: POST\r\n");
    }
    openai::BodyReader::pad(request.body);
    const openai::BodyError error = body_reader_.read(request.body, request.body.capacity(), c->fields);
    if (error.status != 0) return respond_error(c, error.status, error.code, error.message, !c->keep_alive);

    const std::string_view client_id = request.header("x-request-id");
    c->add_request_id = client_id.empty() || client_id.size() > 200;
    if (c->add_request_id) {
      char id[48];
      std::snprintf(id, sizeof id, "rg-%d-%llx-%llx", index_, static_cast<unsigned long long>(now_),
                    static_cast<unsigned long long>(++request_serial_));
      c->request_id = id;
    } else {
      c->request_id.assign(client_id);
    }
    apply_model_rewrite(c);
    begin_objective(c);
    c->attempts = 0;
    c->tried.clear();
    c->fresh_retry_used = false;
    c->last_failure_timeout = false;
    c->phase = Client::Phase::Proxying;
    start_exchange(c);
  }

  // THE place for model aliases: set c->target_model (what routing sees) and, when the
  // name changes, c->model_token (the JSON string token, quotes included) that the
  // forwarded body gets in place of fields.model_offset/model_length — spliced with an
  // iovec, the body itself is never re-serialised.
  void apply_model_rewrite(Client* c) {
    const http::Request& request = c->parser.request();
    std::string_view forced = request.header(config::model_name_rewrite_header);
    if (forced.empty()) forced = request.header(config::model_name_rewrite_header_llmd);
    const config::rewrite_decision decision = rules_->rewrites.pick(c->fields.model, rng_.next(), forced);
    c->target_model.assign(decision.target);
    c->model_token.clear();
    if (decision.changes(c->fields.model)) util::append_json_string(c->model_token, decision.target);
    if (decision.reason == config::rewrite_reason::exact || decision.reason == config::rewrite_reason::catch_all) {
      key_scratch_.assign(decision.rewrite_name).push_back('\x1f');
      key_scratch_.append(c->fields.model).push_back('\x1f');
      key_scratch_.append(decision.target);
      stats_.rewrite_decisions.find_or_add(key_scratch_).add();
    }
  }

  // ---- per-request statistics (summed across workers at scrape time) --------------------

  void begin_objective(Client* c) {
    const http::Request& head = c->parser.request();
    std::string_view objective = head.header(config::inference_objective_header);
    if (objective.empty()) objective = head.header(config::inference_objective_header_llmd);
    std::string_view fairness = head.header(kFairnessIdHeader);
    if (fairness.empty()) fairness = metrics::kDefaultFairnessId;
    else if (fairness.size() > kMaxFairnessIdBytes ||
             std::any_of(fairness.begin(), fairness.end(), [](char ch) { return (unsigned char)ch < 0x20; }))
      fairness = "other";
    c->objective = &stats_.objectives.find_or_add(
        metrics::objective_key(c->fields.model, c->target_model, rules_->priority(objective), fairness, key_scratch_));
    c->objective->running.add(1);
    c->started_ns = steady_ns();
    c->first_byte_ns = 0;
    c->first_token_ns = 0;
    c->last_chunk_ns = 0;
    c->response_bytes = 0;
    c->status = 0;
    c->from_model_server = false;
    c->usage.reset();
    c->first_token.reset(c->fields.stream);
  }

  // The request reached a model server for the first time: it counts as a request
  // (GAIE's request_total and request_sizes are recorded once scheduling succeeded).
  void count_scheduled(Client* c) {
    if (c->objective == nullptr) return;
    c->objective->requests.add();
    c->objective->request_sizes.observe(double(c->parser.request().body.size()), metrics::kRequestSizeBuckets);
  }

  // Body bytes of the answer on their way to the client: response size, first token,
  // gaps between a stream's chunks.
  void observe_body(Client* c, std::string_view data) {
    c->usage.feed(data);
    c->response_bytes += data.size();
    const bool first = c->first_token.feed(data);
    if (!c->fields.stream && !first) return;
    const uint64_t now = steady_ns();
    if (first) c->first_token_ns = now;
    if (c->fields.stream) {
      if (c->last_chunk_ns) c->objective->itl.observe(double(now - c->last_chunk_ns) / 1e9, metrics::kItlBuckets);
      c->last_chunk_ns = now;
    }
  }

  // The request ended (answered, failed, or its client went away): record it once.
  void finish_objective(Client* c) {
    metrics::ObjectiveStats* o = c->objective;
    if (o == nullptr) return;
    c->objective = nullptr;
    o->running.add(-1);
    const uint64_t end_ns = steady_ns();
    if (stats_.access_log.enabled()) log_access(c, end_ns);
    if (c->status >= 400) o->errors[size_t(metrics::error_code_for(c->status, c->from_model_server))].add();
    if (c->status == 0 || c->status >= 400) return;  // latency and tokens of answers only
    const double seconds = double(end_ns - c->started_ns) / 1e9;
    o->duration.observe(seconds, metrics::kRequestDurationBuckets);
    o->response_sizes.observe(double(c->response_bytes), metrics::kResponseSizeBuckets);
    if (c->first_token_ns)
      o->ttft[c->fields.stream ? 1 : 0].observe(double(c->first_token_ns - c->started_ns) / 1e9,
                                                metrics::kRequestDurationBuckets);
    if (c->usage.prompt_tokens() > 0) o->input_tokens.observe(double(c->usage.prompt_tokens()), metrics::kInputTokenBuckets);
    if (c->usage.cached_tokens() >= 0) o->cached_tokens.observe(double(c->usage.cached_tokens()), metrics::kInputTokenBuckets);
    const int64_t out = c->usage.completion_tokens();
    if (out > 0) {
      o->output_tokens.observe(double(out), metrics::kOutputTokenBuckets);
      o->ntpot.observe(seconds / double(out), metrics::kNtpotBuckets);
    }
    // Time per output token after the first, of a stream (llm-d: (e2e - TTFT) / (n - 1)).
    if (c->fields.stream && out > 1 && c->first_token_ns && end_ns > c->first_token_ns)
      o->tpot.observe(double(end_ns - c->first_token_ns) / 1e9 / double(out - 1), metrics::kTpotBuckets);
  }

  // The access log's record of the request: filled in place in this worker's ring (no
  // lock, no allocation, no syscall); dropped and counted when the ring is full.
  void log_access(const Client* c, uint64_t end_ns) {
    metrics::AccessRecord* r = stats_.access_log.claim();
    if (r == nullptr) return;
    r->end_ns = end_ns;
    r->duration_ns = end_ns - c->started_ns;
    r->ttft_ns = c->first_token_ns ? c->first_token_ns - c->started_ns : 0;  // to the first token, as the metrics
    r->prompt_tokens = uint32_t(std::max<int64_t>(0, c->usage.prompt_tokens()));
    r->completion_tokens = uint32_t(std::max<int64_t>(0, c->usage.completion_tokens()));
    r->status = uint16_t(c->status);
    r->attempts = uint8_t(std::min<uint32_t>(c->attempts, 255));
    r->stream = c->fields.stream;
    r->request_id.set(c->request_id);
    r->model.set(c->fields.model);
    r->target_model.set(c->target_model);
    r->endpoint.set(c->attempts ? std::string_view(c->destination) : std::string_view());
    stats_.access_log.commit();
  }

  // ---- upstream exchange ---------------------------------------------------------------

  void start_exchange(Client* c) {
    const RouteDecision decision = route_for(c);
    if (decision.status != 0) {
      if (c->attempts > 0) {  // tried and failed everywhere it could
        return respond_error(c, c->last_failure_timeout ? 504 : 502,
                             c->last_failure_timeout ? "upstream_timeout" : "upstream_unavailable",
                             c->last_failure_timeout ? "upstream did not answer in time"
                                                     : "upstream connection failed",
                             !c->keep_alive);
      }
      return respond_error(c, decision.status, decision.code, decision.message, !c->keep_alive);
    }
    dispatch_attempt(c, decision);
  }

  // Where the request (or its next attempt: endpoints already tried are excluded) goes.
  RouteDecision route_for(Client* c) {
    if (c->attempts > 0) {
      // A retry runs after other requests used this worker's BodyReader: the prompt
      // views point into its reused buffers, so read the (unchanged) body again.
      std::string& body = c->parser.request().body;
      body_reader_.read(body, body.capacity(), c->fields);
    }
    const http::Request& head = c->parser.request();
    RouteRequest route;
    route.model = c->target_model;
    route.prompt_parts = c->fields.prompt_parts;
    if (!rules_->session_header.empty()) route.session_id = head.header(rules_->session_header);
    std::string_view objective = head.header(config::inference_objective_header);
    if (objective.empty()) objective = head.header(config::inference_objective_header_llmd);
    route.sheddable = rules_->sheddable(objective);
    route.exclude = c->tried;
    route.first_attempt = c->attempts == 0;
    return router_.route(route);
  }

  // One attempt of the request on the endpoint route_for() chose.
  void dispatch_attempt(Client* c, const RouteDecision& decision) {
    if (c->attempts == 0) count_scheduled(c);
    ++c->attempts;
    c->tried.push_back(decision.endpoint_id);
    c->endpoint_id = decision.endpoint_id;
    c->endpoint_address = decision.address;
    c->destination.assign(decision.endpoint_host).push_back(':');
    util::append_uint(c->destination, decision.endpoint_port);
    router_.routed(decision.endpoint_id);
    c->holds_in_flight = true;

    c->upstream_head.clear();
    const http::Request& request = c->parser.request();
    const size_t body_length = c->model_token.empty()
                                   ? request.body.size()
                                   : request.body.size() - c->fields.model_length + c->model_token.size();
    build_upstream_head(c->upstream_head, request, c->request_id, c->add_request_id, body_length);
    connect_upstream(c, /*allow_reuse=*/true);
  }

  void connect_upstream(Client* c, bool allow_reuse) {
    Upstream* u = allow_reuse ? pool_.take(c->endpoint_id, now_) : nullptr;
    while (u != nullptr && u->closing) u = pool_.take(c->endpoint_id, now_);
    if (u != nullptr) {
      counters_.upstream_reuses.add();
      u->reused = true;
    } else {
      const int fd = net::new_client_socket();
      if (fd < 0) {
        c->last_failure_timeout = false;
        return retry_elsewhere(c);
      }
      counters_.upstream_connects.add();
      u = new Upstream();
      u->fd = fd;
      u->endpoint_id = c->endpoint_id;
      u->address = c->endpoint_address;
      link(u);
      io_uring_sqe* sqe = ring_.sqe();
      io_uring_prep_connect(sqe, fd, reinterpret_cast<const sockaddr*>(&u->address.sin), sizeof u->address.sin);
      io_uring_sqe_set_data64(sqe, tag(u, kConnect));
      ++u->pending;
      u->connecting = true;
      u->deadline_ms = now_ + options_.upstream_connect_timeout_ms;
    }
    u->owner = c;
    u->parser.reset();
    c->upstream = u;
    if (!u->connecting) send_request(u);
  }

  void on_connect(Upstream* u, int32_t res) {
    u->connecting = false;
    if (u->closing) return;
    if (res < 0) {
      counters_.upstream_failures.add();
      health_failure(u->endpoint_id);
      if (u->owner) {
        Client* c = u->owner;
        detach(u);
        begin_close(u);
        c->last_failure_timeout = false;
        retry_elsewhere(c);
      } else {
        begin_close(u);
      }
      return;
    }
    arm_recv(u);
    if (u->owner) send_request(u);
  }

  void send_request(Upstream* u) {
    Client* c = u->owner;
    const std::string& body = c->parser.request().body;
    u->iov_count = 0;
    u->iov[u->iov_count++] = {c->upstream_head.data(), c->upstream_head.size()};
    if (c->model_token.empty()) {
      if (!body.empty()) u->iov[u->iov_count++] = {const_cast<char*>(body.data()), body.size()};
    } else {
      const size_t cut = c->fields.model_offset;
      const size_t resume = cut + c->fields.model_length;
      if (cut) u->iov[u->iov_count++] = {const_cast<char*>(body.data()), cut};
      u->iov[u->iov_count++] = {c->model_token.data(), c->model_token.size()};
      if (resume < body.size()) u->iov[u->iov_count++] = {const_cast<char*>(body.data()) + resume, body.size() - resume};
    }
    u->iov_first = 0;
    u->deadline_ms = now_ + options_.upstream_first_byte_timeout_ms;
    submit_sendmsg(u);
  }

  void submit_sendmsg(Upstream* u) {
    std::memset(&u->msg, 0, sizeof u->msg);
    u->msg.msg_iov = u->iov + u->iov_first;
    u->msg.msg_iovlen = u->iov_count - u->iov_first;
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_sendmsg(sqe, u->fd, &u->msg, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, tag(u, kSendMsg));
    ++u->pending;
    u->send_in_flight = true;
  }

  void on_sendmsg(Upstream* u, int32_t res) {
    u->send_in_flight = false;
    if (u->closing || u->owner == nullptr) return;
    if (res <= 0) return upstream_failed_before_response(u);
    counters_.bytes_to_upstreams.add(uint64_t(res));
    size_t sent = size_t(res);
    while (u->iov_first < u->iov_count && sent >= u->iov[u->iov_first].iov_len) {
      sent -= u->iov[u->iov_first].iov_len;
      ++u->iov_first;
    }
    if (u->iov_first < u->iov_count) {  // short send: resume where the kernel stopped
      u->iov[u->iov_first].iov_base = static_cast<char*>(u->iov[u->iov_first].iov_base) + sent;
      u->iov[u->iov_first].iov_len -= sent;
      submit_sendmsg(u);
    }
  }

  // A failure before any response byte: a reused connection gets one retry on a fresh
  // connection (the server may have closed it while idle); otherwise try elsewhere.
  void upstream_failed_before_response(Upstream* u) {
    Client* c = u->owner;
    counters_.upstream_failures.add();
    const bool was_reused = u->reused;
    if (!was_reused) health_failure(u->endpoint_id);
    detach(u);
    begin_close(u);
    if (was_reused && !c->fresh_retry_used) {
      c->fresh_retry_used = true;
      counters_.upstream_retries.add();
      return connect_upstream(c, /*allow_reuse=*/false);
    }
    c->last_failure_timeout = false;
    retry_elsewhere(c);
  }

  // Nothing reached the client yet: give the request to another endpoint, if any.
  void retry_elsewhere(Client* c) {
    release_in_flight(c);
    c->upstream = nullptr;
    const bool retry = may_retry(c);
    if (retry) counters_.upstream_retries.add();
    if (!retry) {
      return respond_error(c, c->last_failure_timeout ? 504 : 502,
                           c->last_failure_timeout ? "upstream_timeout" : "upstream_unavailable",
                           c->last_failure_timeout ? "upstream did not answer in time" : "upstream connection failed",
                           !c->keep_alive);
    }
    start_exchange(c);
  }

  void on_upstream_data(Upstream* u, const char* data, size_t len) {
    counters_.bytes_from_upstreams.add(len);
    Client* c = u->owner;
    if (c == nullptr) {  // an idle pooled connection must stay silent
      pool_.remove(u);
      begin_close(u);
      return;
    }
    u->deadline_ms = 0;  // first byte arrived: streams may run as long as they need
    scratch_.clear();
    const http::ResponseFeed feed = u->parser.feed(data, len, &scratch_);
    if (u->parser.head_complete() && !c->response_started) {
      if (u->parser.status() >= 500) {
        health_failure(u->endpoint_id);
        if (retry_after_error_status(c, u)) return;
      } else if (PassiveHealth* health = router_.health()) {
        health->record_success(u->endpoint_id, PassiveHealth::now_ms());
      }
      start_client_response(c, u);
    }
    if (!scratch_.empty() && c->response_started) {
      if (c->objective) observe_body(c, scratch_);
      emit_body(c, scratch_);
    }
    if (feed.state == http::ResponseState::Error) {
      counters_.upstream_failures.add();
      return upstream_broken(c, u);
    }
    if (feed.state == http::ResponseState::Complete) {
      // Reusable only when nothing else is pending on it: no extra bytes, and our
      // request fully sent (an early answer can arrive while the body is still going).
      const bool reusable = u->parser.keep_alive() && feed.consumed == len && !u->send_in_flight;
      return finish_exchange(c, u, reusable);
    }
    if (c->out.size() > options_.max_client_buffer_bytes) pause_recv(u);  // slow client: backpressure
    flush(c);
  }

  void on_upstream_eof(Upstream* u) {
    Client* c = u->owner;
    if (c == nullptr) {  // idle connection closed by the server
      pool_.remove(u);
      begin_close(u);
      return;
    }
    if (!u->parser.started()) return upstream_failed_before_response(u);
    if (u->parser.finish() == http::ResponseState::Complete) return finish_exchange(c, u, false);
    counters_.upstream_failures.add();
    upstream_broken(c, u);
  }

  void start_client_response(Client* c, Upstream* u) {
    c->response_started = true;
    c->framing = choose_framing(u->parser, c->http11);
    if (c->framing == ClientFraming::CloseDelimited) c->keep_alive = false;
    const int status = u->parser.status();
    counters_.responses_by_class[status >= 100 && status < 600 ? status / 100 : 5].add();
    c->status = status;
    c->from_model_server = true;
    c->first_byte_ns = steady_ns();
    build_client_head(c->out, u->parser, c->framing, !c->keep_alive, c->request_id, c->destination);
  }

  void emit_body(Client* c, std::string_view data) {
    if (c->framing == ClientFraming::Chunked) append_chunk(c->out, data);
    else c->out += data;
  }

  void finish_exchange(Client* c, Upstream* u, bool reusable) {
    if (!c->response_started) start_client_response(c, u);
    if (c->framing == ClientFraming::Chunked) c->out += "0\r\n\r\n";
    detach(u);
    if (reusable && !draining_ && !u->closing) {
      u->reused = false;
      u->deadline_ms = now_ + options_.upstream_idle_timeout_ms;
      resume_recv(u);  // watch the idle connection for the server closing it
      pool_.put(u, now_);
    } else {
      begin_close(u);
    }
    release_in_flight(c);
    c->upstream = nullptr;
    request_done(c);
  }

  // The upstream broke mid-response. Before the head reached the client: 502. After:
  // end the stream visibly (an SSE error event on chunked streams), then close.
  void upstream_broken(Client* c, Upstream* u) {
    health_failure(u->endpoint_id);
    detach(u);
    begin_close(u);
    release_in_flight(c);
    c->upstream = nullptr;
    if (!c->response_started) {
      return respond_error(c, 502, "upstream_protocol_error", "upstream sent a malformed or truncated response",
                           /*close=*/true);
    }
    counters_.streams_broken.add();
    if (c->framing == ClientFraming::Chunked) {
      std::string event = "data: ";
      event += http::error_body(502, "upstream_broken", "upstream connection broke mid-response");
      event += "\n\n";
      append_chunk(c->out, event);
      c->out += "0\r\n\r\n";
      // The chunked framing ends properly: the connection stays usable. Closing it
      // here would fail the client's next request, sent on a socket that its HTTP
      // client saw end cleanly (no `connection: close`) and pooled again.
    } else {
      c->keep_alive = false;  // a length-framed or close-delimited body was cut: only a close tells
    }
    request_done(c);
  }

  // Another attempt is allowed: within the budget (max_attempts endpoints) and the
  // retry deadline counted from the request's first byte.
  bool may_retry(const Client* c) const {
    if (c->attempts >= options_.max_attempts) return false;
    return options_.retry_deadline_ms == 0 || now_ - c->request_started_ms < options_.retry_deadline_ms;
  }

  // The upstream answered 5xx and nothing reached the client yet: send the request to
  // another endpoint if one is left; otherwise (false) the 5xx is relayed as it is.
  bool retry_after_error_status(Client* c, Upstream* u) {
    const int status = u->parser.status();
    if (status == 501 || status == 505 || !may_retry(c)) return false;
    const RouteDecision decision = route_for(c);
    if (decision.status != 0) return false;
    counters_.upstream_retries.add();
    detach(u);
    begin_close(u);  // the rest of the error body is not wanted
    release_in_flight(c);
    c->upstream = nullptr;
    dispatch_attempt(c, decision);
    return true;
  }

  void health_failure(uint32_t endpoint_id) {
    if (PassiveHealth* health = router_.health()) health->record_failure(endpoint_id, PassiveHealth::now_ms());
  }

  void abandon_upstream(Client* c) {
    Upstream* u = c->upstream;
    detach(u);
    begin_close(u);
    release_in_flight(c);
    c->upstream = nullptr;
  }

  void detach(Upstream* u) {
    if (u->owner) u->owner->upstream = nullptr;
    u->owner = nullptr;
    u->deadline_ms = 0;
  }

  void release_in_flight(Client* c) {
    if (!c->holds_in_flight) return;
    router_.released(c->endpoint_id);
    c->holds_in_flight = false;
  }

  // ---- responses to the client ---------------------------------------------------------

  void respond_error(Client* c, int status, std::string_view code, std::string_view message, bool close,
                     std::string_view extra_headers = {}) {
    counters_.gateway_errors.add();
    counters_.responses_by_class[status / 100].add();
    c->status = status;
    if (close) c->keep_alive = false;
    http::append_error(c->out, status, code, message, !c->keep_alive, extra_headers);
    request_done(c);
  }

  // The response is queued: read the next pipelined request, or close once sent.
  void request_done(Client* c) {
    finish_objective(c);
    c->response_started = false;
    c->continue_sent = false;
    c->body_started_ms = 0;
    c->parser.next();
    // While draining, keep_alive is still true only where the response head went out
    // before the drain began (it promised keep-alive): see start_draining().
    if (!c->keep_alive) {
      c->phase = Client::Phase::Closing;
      pause_recv(c);
      flush(c);
      return;
    }
    c->phase = Client::Phase::Reading;
    flush(c);
    if (!c->recv_wanted) resume_recv(c);
    // process_input() loops on; when called from elsewhere, restart it.
    if (!in_process_input_guard(c)) process_input(c);
  }

  // process_input() is the only caller that keeps looping by itself; everyone else
  // (upstream completions) must restart the parse of any pipelined bytes.
  bool in_process_input_guard(Client* c) { return c->in_process_input; }

  void flush(Client* c) {
    if (c->send_in_flight || c->closing) return;
    if (c->out.empty()) {
      if (c->phase == Client::Phase::Closing) begin_close(c);
      return;
    }
    std::swap(c->out, c->sending);
    c->out.clear();
    c->sending_offset = 0;
    submit_send(c);
  }

  void submit_send(Client* c) {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_send(sqe, c->fd, c->sending.data() + c->sending_offset, c->sending.size() - c->sending_offset,
                       MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, tag(c, kSend));
    ++c->pending;
    c->send_in_flight = true;
  }

  void on_send(Client* c, int32_t res) {
    c->send_in_flight = false;
    if (c->closing) return;
    if (res <= 0) {
      if (c->upstream) {
        counters_.client_disconnects_mid_response.add();
        abandon_upstream(c);
      }
      begin_close(c);
      return;
    }
    counters_.bytes_to_clients.add(uint64_t(res));
    c->sending_offset += size_t(res);
    if (c->sending_offset < c->sending.size()) return submit_send(c);  // short send
    c->sending.clear();
    if (c->upstream && !c->upstream->recv_wanted && c->out.size() <= options_.max_client_buffer_bytes / 2) {
      resume_recv(c->upstream);
    }
    flush(c);
  }

  // ---- timers and shutdown -------------------------------------------------------------

  void on_tick() {
    counters_.loop_ticks.add();
    const uint32_t overflow = ring_.cq_overflow();
    if (overflow != last_overflow_) {
      counters_.cq_overflows.add(overflow - last_overflow_);
      last_overflow_ = overflow;
    }
    if (stop_requested_.load(std::memory_order_acquire) && !draining_) start_draining();
    for (Socket* socket = all_; socket != nullptr;) {
      Socket* next = socket->next;  // begin_close never frees synchronously
      if (socket->deadline_ms != 0 && now_ >= socket->deadline_ms && !socket->closing) on_deadline(socket);
      socket = next;
    }
    if (draining_) {
      // Idle: stop listening now, not when the ring goes (the accept cancel may never be reaped).
      if (clients_ == 0) close_listener();
      if (clients_ == 0 || now_ >= drain_deadline_ms_) {
        if (clients_ != 0) cut_at_drain_deadline();
        finished_ = true;
        return;
      }
    }
    arm_tick();
  }

  // The drain timeout is over and the loop is about to stop: requests still running are
  // cut visibly, never silently. A stream gets an SSE error event and the end of its
  // chunked body; a request with no answer yet gets a 503. Written directly (the ring
  // stops here), best effort (MSG_DONTWAIT), and only where no send is in flight.
  void cut_at_drain_deadline() {
    for (Socket* socket = all_; socket != nullptr; socket = socket->next) {
      if (socket->kind != Socket::Kind::Client || socket->closing || socket->send_in_flight) continue;
      Client* c = static_cast<Client*>(socket);
      if (c->phase != Client::Phase::Proxying) continue;
      std::string tail = std::move(c->out);
      if (c->response_started && c->framing == ClientFraming::Chunked) {
        std::string event = "data: ";
        event += http::error_body(503, "gateway_shutdown", "the gateway shut down before the response ended");
        event += "\n\n";
        append_chunk(tail, event);
        tail += "0\r\n\r\n";
      } else if (!c->response_started) {
        http::append_error(tail, 503, "gateway_shutdown", "the gateway shut down before the response began", true);
      } else {
        continue;  // a length-framed body: only the close can tell
      }
      [[maybe_unused]] ssize_t n = ::send(c->fd, tail.data(), tail.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      shutdown(c->fd, SHUT_WR);  // FIN right after the data
    }
  }

  void on_deadline(Socket* socket) {
    socket->deadline_ms = 0;
    if (socket->kind == Socket::Kind::Upstream) {
      Upstream* u = static_cast<Upstream*>(socket);
      Client* c = u->owner;
      if (c == nullptr) {  // idle too long in the pool
        pool_.remove(u);
        begin_close(u);
        return;
      }
      counters_.upstream_failures.add();
      health_failure(u->endpoint_id);
      const bool connecting = u->connecting;
      detach(u);
      begin_close(u);
      c->last_failure_timeout = true;
      if (connecting) return retry_elsewhere(c);  // nothing was sent: safe to go elsewhere
      release_in_flight(c);
      c->upstream = nullptr;
      return respond_error(c, 504, "upstream_timeout", "upstream sent no response in time", !c->keep_alive);
    }
    Client* c = static_cast<Client*>(socket);
    if (c->phase != Client::Phase::Reading) return;
    if (c->parser.started()) {
      respond_error(c, 408, "request_timeout", "request not received in time", /*close=*/true);
    } else {
      begin_close(c);  // idle keep-alive connection
    }
  }

  void start_draining() {
    draining_ = true;
    drain_deadline_ms_ = now_ + options_.drain_timeout_ms;
    if (accept_armed_) {
      io_uring_sqe* sqe = ring_.sqe();
      io_uring_prep_cancel64(sqe, kAccept, 0);
      io_uring_sqe_set_data64(sqe, 0);  // the cancel's own CQE: op 0, ignored
    } else {
      close_listener();
    }
    for (Socket* socket = all_; socket != nullptr; socket = socket->next) {
      if (socket->kind == Socket::Kind::Upstream) {
        Upstream* u = static_cast<Upstream*>(socket);
        if (u->owner == nullptr) {
          pool_.remove(u);
          begin_close(u);
        }
        continue;
      }
      Client* c = static_cast<Client*>(socket);
      // A response whose head already promised keep-alive ends with the connection open:
      // the client pools it and may send its next request at once, which gets an answer
      // with `connection: close` (closing instead would fail that request). Every other
      // response from now on says `connection: close`.
      if (!(c->phase == Client::Phase::Proxying && c->response_started)) c->keep_alive = false;
      if (c->phase == Client::Phase::Reading && !c->parser.started() && !c->send_in_flight && c->out.empty()) {
        // Idle keep-alive connection: a request may be on the wire already; closing now
        // would fail it. Answer whatever comes (with `connection: close`) for a short
        // grace, then close it if it stayed idle.
        c->deadline_ms = idle_deadline();
      }
    }
  }

  const WorkerContext& context_;
  const ProxyOptions& options_;
  const int index_;
  net::Ring ring_;
  net::BufferRing buffers_;
  int listen_fd_ = -1;
  net::Address listen_address_;
  bool accept_armed_ = false;
  bool accept_error_logged_ = false;
  __kernel_timespec tick_spec_{};
  WorkerCounters counters_;
  metrics::WorkerStats stats_;
  RequestRouter router_;  // after stats_: it records into them
  std::shared_ptr<const RequestRules> rules_ = std::make_shared<const RequestRules>();
  uint64_t rules_version_ = 0;
  sched::Rng rng_;        // weighted rewrite picks
  std::string key_scratch_;
  UpstreamPool pool_;
  openai::BodyReader body_reader_;
  std::string scratch_;
  Socket* all_ = nullptr;
  size_t clients_ = 0;
  uint64_t now_ = 0;
  uint64_t request_serial_ = 0;
  uint32_t last_overflow_ = 0;
  std::atomic<bool> stop_requested_{false};
  bool draining_ = false;
  bool finished_ = false;
  uint64_t drain_deadline_ms_ = 0;
};

Worker::Worker(const WorkerContext& context, int index) : loop_(std::make_unique<WorkerLoop>(context, index)) {}
Worker::~Worker() = default;
std::string Worker::init(const net::Address& listen) { return loop_->init(listen); }
net::Address Worker::listen_address() const { return loop_->listen_address(); }
void Worker::run() { loop_->run(); }
void Worker::stop() { loop_->stop(); }
const WorkerCounters& Worker::counters() const { return loop_->counters(); }
const metrics::WorkerStats& Worker::stats() const { return loop_->stats(); }

}  // namespace ringgate::proxy
