#pragma once
// The API keys file (auth.apiKeysFile): loaded at start, published to the workers (and
// the admin port's gate), and loaded again whenever it changes. A change that does not
// load keeps the keys loaded before, says why on stderr (never a key: the file holds
// only hashes) and counts it; the next change tries again.
//
// Main thread only, driven from its poll loop (files()), then check().
#include <string>

#include "ringgate/control/control_plane.h"
#include "ringgate/gateway/watched_files.h"
#include "ringgate/proxy/api_key_table.h"

namespace ringgate::gateway {

class ApiKeysSource {
 public:
  // `publisher` outlives the control plane and the workers that read it.
  ApiKeysSource(std::string path, proxy::ApiKeysPublisher& publisher, control::ControlPlane& control);

  // Loads the file and publishes it; the error says where the file is wrong.
  std::string start();
  WatchedFiles& files() { return files_; }
  // Reloads if the file changed (call after poll, whatever woke it).
  void check();

 private:
  std::string load();  // publishes on success; else the error

  std::string path_;
  proxy::ApiKeysPublisher& publisher_;
  control::ControlPlane& control_;
  WatchedFiles files_;
  control::AuthStatus status_;
};

}  // namespace ringgate::gateway
