#include "ringgate/epp/ext_proc_tls.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace ringgate::epp {
namespace {

constexpr size_t kMaxPemBytes = 1u << 20;      // a key pair file past this is not one
constexpr unsigned kReloadCheckSeconds = 1;    // how often --enable-cert-reload looks at the files

struct Owned {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  BIO* bio = nullptr;
  ~Owned() {
    EVP_PKEY_free(key);
    X509_free(cert);
    BIO_free(bio);
  }
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, size_t(n)) : std::string();
}

util::Result<std::string> read_pem(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return util::Error{"cannot read " + path};
  std::string text(kMaxPemBytes + 1, '\0');
  in.read(text.data(), std::streamsize(text.size()));
  text.resize(size_t(in.gcount()));
  if (text.size() > kMaxPemBytes) return util::Error{path + " is larger than 1 MiB: not a PEM key or certificate"};
  return text;
}

// The pair must be one: a certificate, a key, and the key the certificate names. gRPC would
// refuse a bad pair only at the first handshake; the EPP says so at start instead.
util::Result<void> check_pair(const std::string& key_pem, const std::string& cert_pem, const std::string& where) {
  Owned o;
  o.bio = BIO_new_mem_buf(key_pem.data(), int(key_pem.size()));
  o.key = o.bio ? PEM_read_bio_PrivateKey(o.bio, nullptr, nullptr, nullptr) : nullptr;
  if (!o.key) return util::Error{where + "tls.key: no PEM private key"};
  BIO_free(o.bio);
  o.bio = BIO_new_mem_buf(cert_pem.data(), int(cert_pem.size()));
  o.cert = o.bio ? PEM_read_bio_X509(o.bio, nullptr, nullptr, nullptr) : nullptr;
  if (!o.cert) return util::Error{where + "tls.crt: no PEM certificate"};
  if (X509_check_private_key(o.cert, o.key) != 1) return util::Error{where + "tls.key is not the key of tls.crt"};
  return {};
}

// tls.key and tls.crt of `dir` (ending in '/'), read and checked to be one pair.
util::Result<KeyCertPair> load_pair(const std::string& dir) {
  auto key = read_pem(dir + "tls.key");
  if (!key) return key.error();
  auto cert = read_pem(dir + "tls.crt");
  if (!cert) return cert.error();
  if (auto pair = check_pair(key.value(), cert.value(), dir); !pair) return pair.error();
  return KeyCertPair{std::move(key.value()), std::move(cert.value())};
}

}  // namespace

util::Result<void> make_self_signed(std::string& key_pem, std::string& cert_pem) {
  Owned o;
  o.key = EVP_EC_gen("P-256");
  o.cert = X509_new();
  if (!o.key || !o.cert) return util::Error{"cannot make a key for the self-signed certificate"};
  X509_set_version(o.cert, 2);
  uint64_t serial = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial) != 1) return util::Error{"no random serial number"};
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(o.cert), serial >> 1);  // positive
  X509_gmtime_adj(X509_getm_notBefore(o.cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(o.cert), 10L * 365 * 24 * 3600);
  X509_set_pubkey(o.cert, o.key);
  X509_NAME* name = X509_get_subject_name(o.cert);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("ringgate"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("ringgate-epp"), -1, -1, 0);
  X509_set_issuer_name(o.cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, o.cert, o.cert, nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"},
                                   std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                                   std::pair{NID_ext_key_usage, "serverAuth"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) return util::Error{"cannot make the self-signed certificate's extensions"};
    X509_add_ext(o.cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(o.cert, o.key, EVP_sha256()) == 0) return util::Error{"cannot sign the self-signed certificate"};
  o.bio = BIO_new(BIO_s_mem());
  if (!o.bio || PEM_write_bio_PrivateKey(o.bio, o.key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return util::Error{"cannot write the self-signed key"};
  key_pem = bio_text(o.bio);
  BIO_free(o.bio);
  o.bio = BIO_new(BIO_s_mem());
  if (!o.bio || PEM_write_bio_X509(o.bio, o.cert) != 1) return util::Error{"cannot write the self-signed certificate"};
  cert_pem = bio_text(o.bio);
  return {};
}

util::Result<std::unique_ptr<net::TlsContext>> load_checked(const CheckedCertFiles& files) {
  return net::TlsContext::load(net::TlsFiles{files.cert_path(), files.key_path(), {}, /*offer_h2=*/true});
}

util::Result<std::unique_ptr<net::TlsContext>> ext_proc_tls_context(const ExtProcTls& tls, std::string& described,
                                                                    std::unique_ptr<CheckedCertFiles>& reload) {
  if (!tls.secure) {
    described = "plain text (--secure-serving=false)";
    return std::unique_ptr<net::TlsContext>();
  }
  if (tls.cert_path.empty()) {
    if (tls.reload) return util::Error{"--enable-cert-reload needs --cert-path (a self-signed certificate is not reloaded)"};
    std::string key, cert;
    if (auto made = make_self_signed(key, cert); !made) return made.error();
    // OpenSSL reads the pair from files: a private directory, gone once loaded.
    std::string dir = (std::filesystem::temp_directory_path() / "ringgate-epp-XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) return util::Error{"cannot make a directory for the self-signed certificate"};
    auto written = [&](const std::string& path, const std::string& text) {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << text;
      return bool(out.flush());
    };
    util::Result<std::unique_ptr<net::TlsContext>> loaded = util::Error{"cannot write the self-signed certificate"};
    if (written(dir + "/tls.key", key) && written(dir + "/tls.crt", cert))
      loaded = net::TlsContext::load(net::TlsFiles{dir + "/tls.crt", dir + "/tls.key", {}, /*offer_h2=*/true});
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    if (!loaded) return loaded.error();
    described = "TLS, a self-signed certificate made at start (no --cert-path)";
    return loaded;
  }
  const std::string dir = tls.cert_path.ends_with('/') ? tls.cert_path : tls.cert_path + "/";
  auto pair = load_pair(dir);
  if (!pair) return pair.error();
  if (tls.reload) {
    // A changed pair is used for the next handshakes; a broken or mismatched one is
    // skipped (the last good pair stays), as the Go EPP's certwatcher.
    auto load = [dir] { return load_pair(dir); };
    auto files = CheckedCertFiles::start(pair.value(), load, kReloadCheckSeconds);
    if (!files) return files.error();
    reload = std::move(files.value());
    described = "TLS from " + dir + "tls.crt, reloaded when it changes";
    return load_checked(*reload);
  }
  described = "TLS from " + dir + "tls.crt";
  return net::TlsContext::load(net::TlsFiles{dir + "tls.crt", dir + "tls.key", {}, /*offer_h2=*/true});
}

}  // namespace ringgate::epp
