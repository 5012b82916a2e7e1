#pragma once
// What a TLS listener serves with: one certificate chain and key (and, for mutual TLS,
// the CAs client certificates must chain to), loaded into an OpenSSL SSL_CTX. Immutable
// once loaded; a certificate rotation loads a new TlsContext and publishes it to the
// workers. Connections already open keep the SSL_CTX they began with (each SSL holds a
// reference to it), so a rotation drops none.
//
// TLS 1.2 and 1.3 only; ALPN selects h2 (when offer_h2) or else http/1.1 (a client
// offering only other protocols is refused with the no_application_protocol alert, as
// RFC 7301 says).
#include <cstdint>
#include <memory>
#include <string>

#include "ringgate/util/result.h"
#include "ringgate/util/snapshot_publisher.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace ringgate::net {

struct TlsFiles {
  std::string cert_file;       // PEM: the leaf first, then intermediates
  std::string key_file;        // PEM private key of the leaf
  std::string client_ca_file;  // PEM CAs; non-empty: clients must present a certificate they issued
  bool offer_h2 = false;       // ALPN: h2 first, then http/1.1 (listen.http2.enabled)
};

class TlsContext {
 public:
  // Reads and checks the files (the key must match the certificate). The error names
  // the file and what OpenSSL said.
  static util::Result<std::unique_ptr<TlsContext>> load(const TlsFiles& files);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* ctx() const { return ctx_; }
  // The leaf certificate's serial number (hex) and notAfter (Unix seconds): what a
  // rotation changed, for the log and /metrics.
  const std::string& serial() const { return serial_; }
  int64_t not_after() const { return not_after_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
  std::string serial_;
  int64_t not_after_ = 0;
};

using TlsPublisher = util::SnapshotPublisher<TlsContext>;

// How TLS records are handled, decided once at start: "userspace" (OpenSSL in the
// connection's transport seam: the loop moves ciphertext) and why kernel TLS is not
// used ("" when the kernel offers it).
struct TlsMode {
  std::string name;
  std::string reason;
};
TlsMode tls_mode();

// This thread's queued OpenSSL errors as text, "; " between them (the queue cleared);
// empty when there are none.
std::string openssl_errors();

}  // namespace ringgate::net
