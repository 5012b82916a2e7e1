#include "ringgate/net/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace ringgate::net {

namespace {

constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
// The server's preference: h2, then http/1.1.
constexpr unsigned char kH2Http11[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

// `arg`: non-null when h2 is offered.
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in, unsigned in_len,
                void* arg) {
  unsigned char* selected = nullptr;
  const unsigned char* ours = arg ? kH2Http11 : kHttp11;
  const unsigned ours_len = arg ? sizeof kH2Http11 : sizeof kHttp11;
  if (SSL_select_next_proto(&selected, out_len, ours, ours_len, in, in_len) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;  // offered ALPN, none of it ours
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

std::string openssl_error() {
  std::string text = openssl_errors();
  return text.empty() ? "unknown error" : text;
}

util::Error file_error(const std::string& what, const std::string& path) {
  return util::Error{what + " " + path + ": " + openssl_error()};
}

}  // namespace

std::string openssl_errors() {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text;
}

util::Result<std::unique_ptr<TlsContext>> TlsContext::load(const TlsFiles& files) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return util::Error{"SSL_CTX_new: " + openssl_error()};
  std::unique_ptr<TlsContext> out(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // No renegotiation (a client-driven CPU cost), no compression; the server's cipher order.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Written records leave through the connection's own output buffer: partial writes
  // and a moving buffer are fine.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  static int h2_offered = 1;
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, files.offer_h2 ? &h2_offered : nullptr);
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert_file.c_str()) != 1)
    return file_error("certificate", files.cert_file);
  const util::Error mismatch{"key " + files.key_file + " does not match certificate " + files.cert_file};
  if (SSL_CTX_use_PrivateKey_file(ctx, files.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return mismatch;  // (a rotation caught between writing the key and the certificate)
    }
    return file_error("key", files.key_file);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) return mismatch;
  if (!files.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, files.client_ca_file.c_str(), nullptr) != 1)
      return file_error("client CA", files.client_ca_file);
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca_file.c_str());
    if (names == nullptr) return file_error("client CA", files.client_ca_file);
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    SSL_CTX_set_verify_depth(ctx, 8);
  }
  // Session resumption by ticket (stateless: any worker, any replica with the same key
  // would do); the session cache stays off (it would be shared state between workers).
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 1);
  if (X509* leaf = SSL_CTX_get0_certificate(ctx)) {
    if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), nullptr)) {
      if (char* hex = BN_bn2hex(bn)) {
        out->serial_ = hex;
        OPENSSL_free(hex);
      }
      BN_free(bn);
    }
    tm t{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &t) == 1) out->not_after_ = int64_t(timegm(&t));
  }
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

TlsMode tls_mode() {
  // Kernel TLS would let the loop move plaintext; it needs the kernel's "tls" upper
  // layer protocol, and OpenSSL 3.0 offloads only the send side of TLS 1.3. Records are
  // sealed and opened in userspace, in the connection's transport seam, either way;
  // the reason says what this kernel offers.
  std::ifstream ulp("/proc/sys/net/ipv4/tcp_available_ulp");
  std::stringstream text;
  text << ulp.rdbuf();
  std::string available = text.str();
  while (!available.empty() && (available.back() == '\n' || available.back() == ' ')) available.pop_back();
  const bool kernel_has_tls = (" " + available + " ").find(" tls ") != std::string::npos;
  return TlsMode{"userspace", kernel_has_tls ? "kernel TLS is not used by this build (OpenSSL 3.0 offloads only "
                                               "TLS 1.3 sends)"
                                             : "the kernel offers no tls ULP (tcp_available_ulp: " +
                                                   (available.empty() ? std::string("none") : available) + ")"};
}

}  // namespace ringgate::net
