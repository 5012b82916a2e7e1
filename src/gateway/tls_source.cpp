#include "ringgate/gateway/tls_source.h"

#include <cstdio>

namespace ringgate::gateway {

TlsSource::TlsSource(net::TlsFiles files, size_t readers, control::ControlPlane& control)
    : files_(std::move(files)), publisher_(readers), control_(control), mode_(net::tls_mode()) {
  status_.enabled = true;
  status_.mode = mode_.name;
  status_.reason = mode_.reason;
}

std::string TlsSource::start() {
  auto loaded = net::TlsContext::load(files_);
  if (!loaded) return "TLS: " + loaded.error().message;
  status_.serial = loaded.value()->serial();
  status_.not_after = loaded.value()->not_after();
  publisher_.publish(std::move(loaded.value()));
  control_.set_tls_status(status_);
  files_watched_.watch({files_.cert_file, files_.key_file, files_.client_ca_file}, "TLS");
  return {};
}

void TlsSource::check() {
  if (files_watched_.settled_change()) load();
}

bool TlsSource::load() {
  auto loaded = net::TlsContext::load(files_);
  if (!loaded) {
    ++status_.reloads_failed;
    control_.set_tls_status(status_);
    std::fprintf(stderr, "ringgate: TLS: certificate reload rejected, serial %s stays: %s\n", status_.serial.c_str(),
                 loaded.error().message.c_str());
    return false;
  }
  ++status_.reloads_ok;
  status_.serial = loaded.value()->serial();
  status_.not_after = loaded.value()->not_after();
  publisher_.publish(std::move(loaded.value()));
  control_.set_tls_status(status_);
  std::fprintf(stderr, "ringgate: TLS: certificate reloaded, serial %s\n", status_.serial.c_str());
  return true;
}

}  // namespace ringgate::gateway
