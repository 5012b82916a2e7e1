#pragma once
// Files the gateway reloads when they change (the TLS certificate and key, the API keys
// file), watched with config::ConfigFileWatcher (an edit, a rename over it, a Kubernetes
// Secret volume's `..data` swap). A rotation rewrites several files one after the other,
// so a change is reported once every file has settled, not between two of them.
//
// Main thread only, driven from its poll loop: add_poll_fds() and next_check(), then
// settled_change() after poll, whatever woke it.
#include <poll.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/config/config_file_watcher.h"

namespace ringgate::gateway {

class WatchedFiles {
 public:
  using TimePoint = config::ConfigFileWatcher::clock::time_point;

  // Watches each non-empty path; one that cannot be watched is said on stderr (`what`
  // names the files: "TLS") and the rest go on.
  void watch(const std::vector<std::string>& paths, std::string_view what);

  void add_poll_fds(std::vector<pollfd>& fds) const;
  std::optional<TimePoint> next_check() const;
  // True once after a change, when no file is still settling.
  bool settled_change();

 private:
  std::vector<config::ConfigFileWatcher> watchers_;
  bool changed_ = false;
};

}  // namespace ringgate::gateway
