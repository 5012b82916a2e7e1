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
  for (const std::string& path : {files_.cert_file, files_.key_file, files_.client_ca_file}) {
    if (path.empty()) continue;
    auto opened = config::ConfigFileWatcher::open(path);
    if (opened.watcher) watchers_.push_back(std::move(*opened.watcher));
    else std::fprintf(stderr, "ringgate: TLS: not watching %s for changes: %s\n", path.c_str(), opened.error.c_str());
  }
  return {};
}

void TlsSource::add_poll_fds(std::vector<pollfd>& fds) const {
  for (const config::ConfigFileWatcher& w : watchers_) fds.push_back({w.fd(), POLLIN, 0});
}

std::optional<config::ConfigFileWatcher::clock::time_point> TlsSource::next_check() const {
  std::optional<config::ConfigFileWatcher::clock::time_point> first;
  for (const config::ConfigFileWatcher& w : watchers_)
    if (w.next_check() && (!first || *w.next_check() < *first)) first = w.next_check();
  return first;
}

void TlsSource::check() {
  for (config::ConfigFileWatcher& w : watchers_) changed_ |= w.changed();  // every watcher drains its events
  if (!changed_) return;
  // A rotation rewrites the key and the certificate one after the other: load once
  // every file has settled, not between the two.
  for (const config::ConfigFileWatcher& w : watchers_)
    if (w.next_check()) return;
  changed_ = false;
  load();
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
