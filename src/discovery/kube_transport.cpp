#include "ringgate/discovery/kube_transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ringgate/net/tls_context.h"

namespace ringgate::discovery {
namespace {

using Clock = std::chrono::steady_clock;

bool is_ip_literal(const std::string& host) {
  unsigned char address[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), address) == 1 || ::inet_pton(AF_INET6, host.c_str(), address) == 1;
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

Result<int> connect_one(const addrinfo* ai, Clock::time_point deadline, const AbortSignal* abort,
                        const std::string& where) {
  int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0) return Error{"socket() for " + where + ": " + std::strerror(errno)};
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) return fd;
  if (errno != EINPROGRESS) {
    Error error{"connect to " + where + ": " + std::strerror(errno)};
    ::close(fd);
    return error;
  }
  pollfd fds[2] = {{fd, POLLOUT, 0}, {abort ? abort->fd() : -1, POLLIN, 0}};
  for (;;) {
    int rc = ::poll(fds, 2, remaining_ms(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (fds[1].revents & POLLIN) {
      ::close(fd);
      return Error{"connect to " + where + ": aborted"};
    }
    if (rc == 0) {
      ::close(fd);
      return Error{"connect to " + where + ": timed out"};
    }
    break;
  }
  int so_error = 0;
  socklen_t length = sizeof so_error;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &length);
  if (so_error != 0) {
    ::close(fd);
    return Error{"connect to " + where + ": " + std::strerror(so_error)};
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<KubeTransport>> KubeTransport::connect(const KubeApiConfig& config,
                                                              std::chrono::milliseconds timeout,
                                                              const AbortSignal* abort) {
  const std::string where = host_header(config);
  if (abort && abort->triggered()) return Error{"connect to " + where + ": aborted"};
  const auto deadline = Clock::now() + timeout;

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* addresses = nullptr;
  const std::string port = std::to_string(config.port);
  if (int rc = ::getaddrinfo(config.host.c_str(), port.c_str(), &hints, &addresses); rc != 0)
    return Error{"resolve " + config.host + ": " + ::gai_strerror(rc)};

  Error last{"connect to " + where + ": no address"};
  int fd = -1;
  for (const addrinfo* ai = addresses; ai && fd < 0; ai = ai->ai_next) {
    auto connected = connect_one(ai, deadline, abort, where);
    if (connected) fd = connected.value();
    else last = connected.error();
    if (abort && abort->triggered()) break;
  }
  ::freeaddrinfo(addresses);
  if (fd < 0) return last;

  std::unique_ptr<KubeTransport> transport(new KubeTransport(fd, abort));
  if (config.tls) {
    auto shaken = transport->handshake(config, std::chrono::milliseconds(remaining_ms(deadline)));
    if (!shaken) return shaken.error();
  }
  return transport;
}

KubeTransport::~KubeTransport() {
  if (ssl_) SSL_free(ssl_);
  if (ctx_) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

Result<void> KubeTransport::wait_for(short events, std::chrono::milliseconds timeout, const char* what) {
  const auto deadline = Clock::now() + timeout;
  pollfd fds[2] = {{fd_, events, 0}, {abort_ ? abort_->fd() : -1, POLLIN, 0}};
  for (;;) {
    int rc = ::poll(fds, 2, remaining_ms(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return Error{std::string("poll: ") + std::strerror(errno)};
    if (fds[1].revents & POLLIN) return Error{std::string(what) + ": aborted"};
    if (rc == 0) return Error{std::string(what) + ": timed out after " + std::to_string(timeout.count()) + " ms"};
    return {};  // ready, or POLLERR/POLLHUP: the next I/O call reports it
  }
}

Result<void> KubeTransport::handshake(const KubeApiConfig& config, std::chrono::milliseconds timeout) {
  const std::string where = host_header(config);
  ERR_clear_error();
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (!ctx_) return Error{"TLS setup: " + net::openssl_errors()};
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx_, SSL_OP_IGNORE_UNEXPECTED_EOF);  // the HTTP parser spots truncation
  if (config.ca_file.empty()) return Error{"TLS to " + where + ": no CA file to verify the server with"};
  if (SSL_CTX_load_verify_locations(ctx_, config.ca_file.c_str(), nullptr) != 1)
    return Error{"TLS: cannot load CA file " + config.ca_file + ": " + net::openssl_errors()};
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);

  ssl_ = SSL_new(ctx_);
  if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1) return Error{"TLS setup: " + net::openssl_errors()};
  if (is_ip_literal(config.host)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), config.host.c_str()) != 1)
      return Error{"TLS setup: bad IP " + config.host};
  } else {
    SSL_set_tlsext_host_name(ssl_, config.host.c_str());
    if (SSL_set1_host(ssl_, config.host.c_str()) != 1) return Error{"TLS setup: bad host " + config.host};
  }

  const auto deadline = Clock::now() + timeout;
  for (;;) {
    ERR_clear_error();
    int rc = SSL_connect(ssl_);
    if (rc == 1) return {};
    int reason = SSL_get_error(ssl_, rc);
    if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE) {
      auto ready = wait_for(reason == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
                            std::chrono::milliseconds(remaining_ms(deadline)), "TLS handshake");
      if (!ready) return Error{ready.error().message + " (" + where + ")"};
      continue;
    }
    long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK)
      return Error{"TLS: certificate of " + where + " failed verification against " + config.ca_file + ": " +
                   X509_verify_cert_error_string(verify)};
    std::string detail = net::openssl_errors();
    if (detail.empty()) detail = reason == SSL_ERROR_SYSCALL && errno ? std::strerror(errno) : "connection closed";
    return Error{"TLS handshake with " + where + " failed: " + detail};
  }
}

Result<void> KubeTransport::write_all(std::string_view data, std::chrono::milliseconds timeout) {
  while (!data.empty()) {
    if (ssl_) {
      ERR_clear_error();
      std::size_t written = 0;
      int rc = SSL_write_ex(ssl_, data.data(), data.size(), &written);
      if (rc == 1) {
        data.remove_prefix(written);
        continue;
      }
      int reason = SSL_get_error(ssl_, rc);
      if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE) {
        auto ready = wait_for(reason == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, timeout, "TLS write");
        if (!ready) return ready;
        continue;
      }
      return Error{"TLS write failed: " + net::openssl_errors()};
    }
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      auto ready = wait_for(POLLOUT, timeout, "write");
      if (!ready) return ready;
    } else if (errno != EINTR) {
      return Error{std::string("write failed: ") + std::strerror(errno)};
    }
  }
  return {};
}

Result<std::size_t> KubeTransport::read_some(char* buffer, std::size_t capacity,
                                             std::chrono::milliseconds idle_timeout) {
  for (;;) {
    if (ssl_) {
      ERR_clear_error();
      std::size_t got = 0;
      int rc = SSL_read_ex(ssl_, buffer, capacity, &got);
      if (rc == 1) return got;
      int reason = SSL_get_error(ssl_, rc);
      if (reason == SSL_ERROR_ZERO_RETURN) return std::size_t{0};
      if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE) {
        auto ready = wait_for(reason == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, idle_timeout, "read");
        if (!ready) return ready.error();
        continue;
      }
      if (reason == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return std::size_t{0};
      std::string detail = net::openssl_errors();
      return Error{"TLS read failed: " + (detail.empty() ? std::string(std::strerror(errno)) : detail)};
    }
    ssize_t n = ::recv(fd_, buffer, capacity, 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      auto ready = wait_for(POLLIN, idle_timeout, "read");
      if (!ready) return ready.error();
    } else if (errno != EINTR) {
      return Error{std::string("read failed: ") + std::strerror(errno)};
    }
  }
}

}  // namespace ringgate::discovery
