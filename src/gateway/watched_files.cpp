#include "ringgate/gateway/watched_files.h"

#include <cstdio>

namespace ringgate::gateway {

void WatchedFiles::watch(const std::vector<std::string>& paths, std::string_view what) {
  for (const std::string& path : paths) {
    if (path.empty()) continue;
    auto opened = config::ConfigFileWatcher::open(path);
    if (opened.watcher) watchers_.push_back(std::move(*opened.watcher));
    else
      std::fprintf(stderr, "ringgate: %.*s: not watching %s for changes: %s\n", int(what.size()), what.data(),
                   path.c_str(), opened.error.c_str());
  }
}

void WatchedFiles::add_poll_fds(std::vector<pollfd>& fds) const {
  for (const config::ConfigFileWatcher& w : watchers_) fds.push_back({w.fd(), POLLIN, 0});
}

std::optional<WatchedFiles::TimePoint> WatchedFiles::next_check() const {
  std::optional<TimePoint> first;
  for (const config::ConfigFileWatcher& w : watchers_)
    if (w.next_check() && (!first || *w.next_check() < *first)) first = w.next_check();
  return first;
}

bool WatchedFiles::settled_change() {
  for (config::ConfigFileWatcher& w : watchers_) changed_ |= w.changed();  // every watcher drains its events
  if (!changed_) return false;
  for (const config::ConfigFileWatcher& w : watchers_)
    if (w.next_check()) return false;
  changed_ = false;
  return true;
}

}  // namespace ringgate::gateway
