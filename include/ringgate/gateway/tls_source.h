#pragma once
// The API listener's certificate: loaded at start, published to the workers, and
// loaded again whenever one of its files changes (an edit, a rename over it, a
// Kubernetes Secret volume's `..data` swap: config::ConfigFileWatcher). A change that
// does not load (unreadable, or the key and certificate disagree halfway through a
// rotation) keeps the certificate served, says why on stderr and counts it; the next
// change tries again. Connections keep the certificate they began with, so a rotation
// drops none.
//
// Main thread only, driven from its poll loop (files()), then check().
#include <string>

#include "ringgate/control/control_plane.h"
#include "ringgate/gateway/watched_files.h"
#include "ringgate/net/tls_context.h"

namespace ringgate::gateway {

class TlsSource {
 public:
  // `readers`: one slot per worker.
  TlsSource(net::TlsFiles files, size_t readers, control::ControlPlane& control);

  // Loads the files and publishes them; the error says which file and why.
  std::string start();
  const net::TlsPublisher* publisher() const { return &publisher_; }
  const net::TlsMode& mode() const { return mode_; }

  WatchedFiles& files() { return files_watched_; }
  // Reloads if a file changed (call after poll, whatever woke it).
  void check();

 private:
  bool load();  // publishes on success

  net::TlsFiles files_;
  net::TlsPublisher publisher_;
  control::ControlPlane& control_;
  net::TlsMode mode_;
  WatchedFiles files_watched_;
  control::TlsStatus status_;
};

}  // namespace ringgate::gateway
