// TlsSession against an in-memory OpenSSL client: the handshake and records both
// ways, ALPN, close_notify, and hostile input (not TLS, oversized handshakes) bounded.
#include "ringgate/net/tls_session.h"

#include <doctest/doctest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "ringgate/net/tls_context.h"

using namespace ringgate::net;

namespace {

// A self-signed P-256 certificate for "localhost" (serial 0x2A), as PEM files in a
// temporary directory.
struct TestCertificate {
  std::string dir, cert, key;
  TestCertificate() {
    char tmpl[] = "/tmp/rg-tls-unit-XXXXXX";
    dir = mkdtemp(tmpl);
    cert = dir + "/cert.pem";
    key = dir + "/key.pem";
    EVP_PKEY* pkey = EVP_EC_gen("P-256");
    X509* x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 0x2A);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_sign(x, pkey, EVP_sha256());
    FILE* f = std::fopen(cert.c_str(), "w");
    PEM_write_X509(f, x);
    std::fclose(f);
    f = std::fopen(key.c_str(), "w");
    PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    X509_free(x);
    EVP_PKEY_free(pkey);
  }
  ~TestCertificate() {
    unlink(cert.c_str());
    unlink(key.c_str());
    rmdir(dir.c_str());
  }
};

// An OpenSSL client on memory BIOs (it does not verify: the server side is under test).
struct TestClient {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl;
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  explicit TestClient(const char* alpn = "\x08http/1.1", int max_version = 0) {
    if (max_version) SSL_CTX_set_max_proto_version(ctx, max_version);
    ssl = SSL_new(ctx);
    BIO_set_mem_eof_return(in, -1);  // empty means "more to come"
    if (alpn) SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(alpn), unsigned(std::char_traits<char>::length(alpn)));
    SSL_set_bio(ssl, in, out);
    SSL_set_connect_state(ssl);
  }
  ~TestClient() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  }
  std::string take() {
    char* data = nullptr;
    long n = BIO_get_mem_data(out, &data);
    std::string s(data, size_t(n > 0 ? n : 0));
    (void)BIO_reset(out);
    return s;
  }
  void give(const std::string& bytes) { BIO_write(in, bytes.data(), int(bytes.size())); }
};

// Runs the handshake to its end (or failure); true when both sides finished.
bool handshake(TestClient& client, TlsSession& server) {
  for (int round = 0; round < 10; ++round) {
    const int r = SSL_do_handshake(client.ssl);
    const int error = r == 1 ? SSL_ERROR_NONE : SSL_get_error(client.ssl, r);  // before the BIOs move on
    const std::string to_server = client.take();
    if (!to_server.empty() && !server.receive(to_server.data(), to_server.size())) return false;
    std::string to_client;
    server.take_output(to_client);
    client.give(to_client);
    if (r == 1 && server.established()) return true;
    if (r != 1 && error != SSL_ERROR_WANT_READ) return false;
  }
  return false;
}

std::string read_all(TlsSession& server) {
  std::string out;
  char buffer[1024];
  int n;
  while ((n = server.read(buffer, sizeof buffer)) > 0) out.append(buffer, size_t(n));
  return out;
}

}  // namespace

TEST_CASE("the handshake completes, records go both ways, the context names the certificate") {
  TestCertificate cert;
  auto ctx = TlsContext::load({cert.cert, cert.key, ""});
  REQUIRE(ctx.ok());
  CHECK(ctx.value()->serial() == "2A");
  CHECK(ctx.value()->not_after() > 0);
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    CAPTURE(version);
    TestClient client("\x08http/1.1", version);
    TlsSession server(ctx.value()->ctx());
    REQUIRE(handshake(client, server));
    CHECK(server.version() == (version == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2"));
    CHECK(server.alpn() == "http/1.1");
    // Client to server: a request split over records, read whole.
    const std::string request = "POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\n\r\n" + std::string(5000, 'a');
    REQUIRE(SSL_write(client.ssl, request.data(), int(request.size())) == int(request.size()));
    const std::string sealed = client.take();
    CHECK(sealed.find("POST") == std::string::npos);  // it is ciphertext on the wire
    REQUIRE(server.receive(sealed.data(), sealed.size()));
    CHECK(read_all(server) == request);
    // Server to client.
    server.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    std::string answer;
    server.take_output(answer);
    client.give(answer);
    char buffer[256];
    const int n = SSL_read(client.ssl, buffer, sizeof buffer);
    REQUIRE(n > 0);
    CHECK(std::string(buffer, size_t(n)) == "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    // close_notify from the client: read() says the client closed, with no failure.
    SSL_shutdown(client.ssl);
    const std::string bye = client.take();
    REQUIRE(server.receive(bye.data(), bye.size()));
    CHECK(server.read(buffer, sizeof buffer) < 0);
    CHECK(server.failure() == TlsFailure::None);
    server.shutdown();
    CHECK(server.has_output());
  }
}

TEST_CASE("a client without ALPN is served; one offering only h2 is refused with an alert") {
  TestCertificate cert;
  auto ctx = TlsContext::load({cert.cert, cert.key, ""});
  REQUIRE(ctx.ok());
  {
    TestClient client(nullptr);
    TlsSession server(ctx.value()->ctx());
    REQUIRE(handshake(client, server));
    CHECK(server.alpn().empty());
  }
  TestClient client("\x02h2");
  TlsSession server(ctx.value()->ctx());
  CHECK_FALSE(handshake(client, server));
  CHECK(server.failure() == TlsFailure::Protocol);
  CHECK_FALSE(server.established());
}

TEST_CASE("hostile input: not TLS fails at once; a handshake past its bound fails as too large") {
  TestCertificate cert;
  auto ctx = TlsContext::load({cert.cert, cert.key, ""});
  REQUIRE(ctx.ok());
  {
    TlsSession server(ctx.value()->ctx());
    const std::string plain = "GET / HTTP/1.1\r\nhost: x\r\n\r\n";
    CHECK_FALSE(server.receive(plain.data(), plain.size()));
    CHECK(server.failure() == TlsFailure::Protocol);
    CHECK_FALSE(server.receive("x", 1));  // stays failed
  }
  // A ClientHello that announces 131,300 bytes (under OpenSSL's own limit), fed in records.
  TlsSession server(ctx.value()->ctx());
  std::string hello(4 + 131300, '\0');
  hello[0] = 1;
  hello[1] = char(131300 >> 16);
  hello[2] = char((131300 >> 8) & 0xff);
  hello[3] = char(131300 & 0xff);
  size_t fed = 0;
  bool ok = true;
  for (size_t at = 0; at < hello.size() && ok; at += 16384) {
    const std::string piece = hello.substr(at, 16384);
    std::string record = {0x16, 0x03, 0x01, char(piece.size() >> 8), char(piece.size() & 0xff)};
    record += piece;
    fed += record.size();
    ok = server.receive(record.data(), record.size());
  }
  CHECK_FALSE(ok);
  CHECK(server.failure() == TlsFailure::TooLarge);
  CHECK(fed > kMaxHandshakeBytes);
  CHECK(fed <= kMaxHandshakeBytes + 16384 + 5);
}

TEST_CASE("files that cannot serve: each error names the file") {
  TestCertificate cert;
  TestCertificate other;
  auto missing = TlsContext::load({cert.dir + "/nope.pem", cert.key, ""});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("certificate " + cert.dir + "/nope.pem") == 0);
  auto mismatch = TlsContext::load({cert.cert, other.key, ""});
  REQUIRE_FALSE(mismatch.ok());
  CHECK(mismatch.error().message == "key " + other.key + " does not match certificate " + cert.cert);
  auto bad_ca = TlsContext::load({cert.cert, cert.key, cert.dir + "/no-ca.pem"});
  REQUIRE_FALSE(bad_ca.ok());
  CHECK(bad_ca.error().message.find("client CA") == 0);
  CHECK(tls_mode().name == "userspace");
  CHECK_FALSE(tls_mode().reason.empty());
}
