#pragma once
// The server side of one TLS connection as a transport seam: the event loop moves
// ciphertext, this turns it into plaintext and back. OpenSSL reads from and writes to
// memory BIOs, never the socket, so io_uring's receives and sends (and the epoll
// backend's) stay as they are for plain connections.
//
//   socket bytes ──receive()──▶ [SSL] ──read()──▶ plaintext for the HTTP parser
//   plaintext ──write()──▶ [SSL] ──take_output()──▶ bytes for the socket
//
// Hostile handshakes are bounded: what a client may send before the handshake is done
// (kMaxHandshakeBytes); the time it may take is the connection's deadline.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct bio_st BIO;

namespace ringgate::net {

// A ClientHello is a few hundred bytes; a client certificate chain a few KB. Beyond
// this before the handshake ends, the client is not doing TLS with us.
inline constexpr size_t kMaxHandshakeBytes = 128 * 1024;

enum class TlsFailure : uint8_t {
  None,
  Protocol,   // not TLS, a bad record, no shared version/cipher/ALPN, a refused client cert
  TooLarge,   // more than kMaxHandshakeBytes before the handshake ended
};

class TlsSession {
 public:
  // `ctx` is referenced (not owned) by the session for its whole life (OpenSSL counts it).
  explicit TlsSession(SSL_CTX* ctx);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Bytes from the socket. Advances the handshake; false on a failure (failure() says
  // which). Alerts to send are in the output even then.
  bool receive(const char* data, size_t len);
  bool established() const { return established_; }
  TlsFailure failure() const { return failure_; }

  // Plaintext received: up to `cap` bytes into `buffer`. > 0 bytes, 0 none for now,
  // < 0 the client closed TLS (close_notify) or broke it.
  int read(char* buffer, size_t cap);
  // Seals `plain` into records (after the handshake only).
  void write(std::string_view plain);
  // Queues close_notify.
  void shutdown();
  // Moves the bytes for the socket (handshake messages, records, alerts) to the end of `out`.
  void take_output(std::string& out);
  bool has_output() const;

  // After the handshake: "TLSv1.3", and the ALPN chosen ("" when the client sent none).
  std::string_view version() const;
  std::string_view alpn() const;

 private:
  SSL* ssl_;
  BIO* in_;   // ciphertext from the client (owned by ssl_)
  BIO* out_;  // ciphertext for the client (owned by ssl_)
  size_t handshake_bytes_ = 0;
  bool established_ = false;
  TlsFailure failure_ = TlsFailure::None;
};

}  // namespace ringgate::net
