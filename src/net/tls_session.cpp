#include "ringgate/net/tls_session.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <climits>

namespace ringgate::net {

TlsSession::TlsSession(SSL_CTX* ctx) : ssl_(SSL_new(ctx)), in_(BIO_new(BIO_s_mem())), out_(BIO_new(BIO_s_mem())) {
  // An empty input BIO means "more to come" (WANT_READ), not end of file.
  BIO_set_mem_eof_return(in_, -1);
  SSL_set_bio(ssl_, in_, out_);
  SSL_set_accept_state(ssl_);
}

TlsSession::~TlsSession() { SSL_free(ssl_); }  // frees the BIOs too

bool TlsSession::receive(const char* data, size_t len) {
  if (failure_ != TlsFailure::None) return false;
  if (!established_) {
    handshake_bytes_ += len;
    if (handshake_bytes_ > kMaxHandshakeBytes) {
      failure_ = TlsFailure::TooLarge;
      return false;
    }
  }
  while (len > 0) {  // a BIO write takes at most INT_MAX
    const int n = BIO_write(in_, data, int(std::min<size_t>(len, INT_MAX)));
    if (n <= 0) {
      failure_ = TlsFailure::Protocol;
      return false;
    }
    data += n;
    len -= size_t(n);
  }
  if (established_) return true;
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    established_ = true;
    return true;
  }
  const int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
  failure_ = TlsFailure::Protocol;
  ERR_clear_error();
  return false;
}

int TlsSession::read(char* buffer, size_t cap) {
  if (!established_ || failure_ != TlsFailure::None) return 0;
  ERR_clear_error();
  const int n = SSL_read(ssl_, buffer, int(std::min<size_t>(cap, INT_MAX)));
  if (n > 0) return n;
  const int e = SSL_get_error(ssl_, n);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
  if (e != SSL_ERROR_ZERO_RETURN) failure_ = TlsFailure::Protocol;
  ERR_clear_error();
  return -1;
}

void TlsSession::write(std::string_view plain) {
  if (!established_ || failure_ != TlsFailure::None) return;
  while (!plain.empty()) {
    // Into a memory BIO: takes everything (SSL_MODE_ENABLE_PARTIAL_WRITE: record by record).
    const int n = SSL_write(ssl_, plain.data(), int(std::min<size_t>(plain.size(), INT_MAX)));
    if (n <= 0) {
      failure_ = TlsFailure::Protocol;
      ERR_clear_error();
      return;
    }
    plain.remove_prefix(size_t(n));
  }
}

void TlsSession::shutdown() {
  if (established_ && failure_ == TlsFailure::None) SSL_shutdown(ssl_);
  ERR_clear_error();
}

void TlsSession::take_output(std::string& out) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(out_, &data);
  if (n <= 0) return;
  out.append(data, size_t(n));
  (void)BIO_reset(out_);
}

bool TlsSession::has_output() const { return BIO_ctrl_pending(out_) > 0; }

std::string_view TlsSession::version() const { return SSL_get_version(ssl_); }

std::string_view TlsSession::alpn() const {
  const unsigned char* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_, &p, &len);
  return {reinterpret_cast<const char*>(p), len};
}

}  // namespace ringgate::net
