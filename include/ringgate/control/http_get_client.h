#pragma once
// Repeated GETs of one path of one endpoint (its /metrics, its /v1/models) over a
// keep-alive HTTP/1.1 connection, driven by the control thread's epoll loop. At
// most one GET in flight; one that has not finished by its deadline fails (and
// its connection is dropped).
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "ringgate/http/response_parser.h"

#include "ringgate/control/epoll_loop.h"

namespace ringgate::control {

// What one response may hold: a model server is not trusted to send a sane one.
struct GetLimits {
  size_t max_header_bytes = 64u << 10;  // status line + headers
  size_t max_body_bytes = 8u << 20;
};

struct GetResult {
  bool ok = false;
  bool over_limit = false;    // the response broke GetLimits (error says which)
  int status = 0;             // HTTP status when a response arrived
  std::string_view body;      // valid during the callback only
  std::string_view error;     // why it failed, when !ok
  std::string_view retry_after;  // the response's Retry-After, when it sent one (callback only)
};

class HttpGetClient final : public EpollHandler {
 public:
  using Callback = std::function<void(const GetResult&)>;

  HttpGetClient(EpollLoop& loop, const sockaddr_storage& addr, socklen_t addr_len, std::string_view host_header,
                std::string_view path, Callback on_done, GetLimits limits = {});
  ~HttpGetClient();
  HttpGetClient(const HttpGetClient&) = delete;
  HttpGetClient& operator=(const HttpGetClient&) = delete;

  bool busy() const { return state_ != State::kIdle; }
  // Starts a GET unless one is in flight; `deadline_ns` is on CLOCK_MONOTONIC.
  void start(uint64_t deadline_ns);
  // Another request than the GET (the OTLP exporter's POSTs): the whole request, head and
  // body, from byte `from` of `request` on, sent by the next start(). Not while busy().
  void set_request(std::string request, size_t from = 0) {
    request_ = std::move(request);
    request_from_ = from;
  }
  // Fails the GET in flight if its deadline has passed.
  void check_deadline(uint64_t now_ns);
  void on_event(uint32_t events) override;

  // Connections opened so far (1 while keep-alive holds).
  uint64_t connects() const { return connects_; }

 private:
  enum class State { kIdle, kConnecting, kSending, kReceiving };

  bool open_connection();
  void close_connection();
  void send_request();
  void receive();
  void finish_ok();
  void fail(std::string_view why);
  void watch(uint32_t events);

  // Why the response breaks GetLimits, or nullptr.
  const char* over_limit() const;

  EpollLoop& loop_;
  sockaddr_storage addr_;
  socklen_t addr_len_;
  std::string request_;
  Callback on_done_;
  GetLimits limits_;
  size_t head_bytes_ = 0;   // bytes fed before the head completed
  bool over_limit_ = false;

  int fd_ = -1;
  State state_ = State::kIdle;
  uint64_t deadline_ns_ = 0;
  size_t sent_ = 0;
  size_t request_from_ = 0;      // where request_'s bytes start
  http::ResponseParser parser_;  // the gateway's strict HTTP/1.1 response parser
  std::string body_;
  bool reused_ = false;     // this GET runs on a kept-alive connection
  bool got_bytes_ = false;  // any response byte arrived
  uint64_t connects_ = 0;
};

// Where a control-thread client sends (the OTLP exporter, the wake hook): a host resolved
// once, at start (its first address), and the Host header naming it.
struct HttpTarget {
  sockaddr_storage address{};
  socklen_t length = 0;
  std::string host_header;  // host:port, an IPv6 host in brackets
};
// Resolves `host` (blocking: call it at start only). "" when resolved, else why not.
std::string resolve_http_target(const std::string& host, uint16_t port, HttpTarget& out);

}  // namespace ringgate::control
