#pragma once
// One blocking TCP or TLS (OpenSSL) connection to the API server, with
// per-call timeouts and abortable from another thread via an AbortSignal.
// Not thread-safe itself: one thread uses it; others may only trigger the signal.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

#include "ringgate/discovery/abort_signal.h"
#include "ringgate/discovery/kube_api_config.h"
#include "ringgate/discovery/result.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace ringgate::discovery {

class KubeTransport {
 public:
  // Resolves, connects (non-blocking + poll) and, for TLS, handshakes and
  // verifies the certificate chain against config.ca_file and the host name/IP.
  // `abort` may be null.
  static Result<std::unique_ptr<KubeTransport>> connect(const KubeApiConfig& config,
                                                        std::chrono::milliseconds timeout,
                                                        const AbortSignal* abort);
  ~KubeTransport();
  KubeTransport(const KubeTransport&) = delete;
  KubeTransport& operator=(const KubeTransport&) = delete;

  Result<void> write_all(std::string_view data, std::chrono::milliseconds timeout);
  // Waits up to `idle_timeout` for bytes; returns how many were read, 0 on EOF.
  Result<std::size_t> read_some(char* buffer, std::size_t capacity,
                                std::chrono::milliseconds idle_timeout);

 private:
  KubeTransport(int fd, const AbortSignal* abort) : fd_(fd), abort_(abort) {}
  Result<void> wait_for(short events, std::chrono::milliseconds timeout, const char* what);
  Result<void> handshake(const KubeApiConfig& config, std::chrono::milliseconds timeout);

  int fd_ = -1;
  const AbortSignal* abort_ = nullptr;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

}  // namespace ringgate::discovery
