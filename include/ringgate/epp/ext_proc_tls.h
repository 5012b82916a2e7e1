#pragma once
// How the ext-proc port is served, as the Go EPP's flags say it: TLS by default
// (--secure-serving), from tls.crt / tls.key in --cert-path (the inferencepool chart mounts
// a Secret there), re-read when they change (--enable-cert-reload), or with a self-signed
// certificate made at start when no path is given; plain text with --secure-serving=false.
// The health port stays plain text either way (kubelet's gRPC probes speak no TLS; the Go
// EPP's health server is plain too).
#include <memory>
#include <string>

#include "ringgate/epp/checked_cert_files.h"
#include "ringgate/util/result.h"

#include "ringgate/net/tls_context.h"

namespace ringgate::epp {

struct ExtProcTls {
  bool secure = true;     // --secure-serving
  std::string cert_path;  // --cert-path: a directory holding tls.crt and tls.key ("" = self-signed)
  bool reload = false;    // --enable-cert-reload: watch the files (needs cert_path)
};

// The ext-proc port's TLS context (ALPN h2), null for plain text, and a line for the log
// saying which. An unreadable or invalid key pair in cert_path is an error (the EPP does not
// start). With reload, `reload` is set to the checked copy to load again whenever its
// generation() changes (load_checked): keep it as long as the server.
util::Result<std::unique_ptr<net::TlsContext>> ext_proc_tls_context(const ExtProcTls& tls, std::string& described,
                                                                    std::unique_ptr<CheckedCertFiles>& reload);
// The checked copy's current pair, loaded.
util::Result<std::unique_ptr<net::TlsContext>> load_checked(const CheckedCertFiles& files);

// A self-signed certificate and its key (PEM), EC P-256, valid for ten years, CN
// "ringgate-epp" with DNS localhost and IP 127.0.0.1 as names: what the Go EPP makes
// (tls.CreateSelfSignedTLSCertificate) for a Gateway that does not verify it.
util::Result<void> make_self_signed(std::string& key_pem, std::string& cert_pem);

}  // namespace ringgate::epp
