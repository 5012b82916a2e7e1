#pragma once
// Notices when the config file changes, including a Kubernetes ConfigMap volume update:
// there the file is `dir/config.yaml -> ..data/config.yaml` and `..data -> ..2026_..`,
// and an update creates a new timestamped directory and atomically renames a new
// `..data` symlink over the old one. Plain edits (write in place, editor rename-over,
// `kubectl cp`) are caught too.
//
// How: inotify on the directory holding the path as given AND on the directory holding
// the path it resolves to (re-resolved after every event, since a swap moves it).
// Events only arm a debounce timer; when it expires the file's content is hashed and
// compared with the last content seen, so touch-without-change and half-finished
// swaps do not trigger reloads.
//
// Use from an event loop: poll fd() for readability, and call changed() when it is
// readable and also at next_check() (the debounce deadline).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace ringgate::config {

class ConfigFileWatcher {
 public:
  using clock = std::chrono::steady_clock;

  struct open_result;

  // Starts watching `path` (which need not be readable yet; its directory must exist).
  static open_result open(std::string path, std::chrono::milliseconds debounce = std::chrono::milliseconds(200));

  ConfigFileWatcher(ConfigFileWatcher&& other) noexcept;
  ConfigFileWatcher& operator=(ConfigFileWatcher&& other) noexcept;
  ConfigFileWatcher(const ConfigFileWatcher&) = delete;
  ConfigFileWatcher& operator=(const ConfigFileWatcher&) = delete;
  ~ConfigFileWatcher();

  // Non-blocking inotify fd; readable when events are pending.
  int fd() const { return inotify_fd_; }

  // Drains pending events. Returns true once per change of the file's content, after
  // `debounce` of quiet. Never blocks.
  bool changed(clock::time_point now = clock::now());

  // When changed() should be called again although fd() is not readable, if ever.
  std::optional<clock::time_point> next_check() const { return deadline_; }

  // The path as given and the file it currently resolves to.
  const std::string& path() const { return path_; }
  const std::string& resolved_path() const { return resolved_path_; }

  // Forget the remembered content, so the next event reports a change even if the
  // content is identical (e.g. after a reload the caller could not apply).
  void reset_baseline() { content_hash_.reset(); }

 private:
  ConfigFileWatcher() = default;
  void drain_events(clock::time_point now);
  void rewatch();
  std::optional<uint64_t> hash_file() const;

  std::string path_;
  std::string resolved_path_;
  int inotify_fd_ = -1;
  int dir_watch_ = -1;       // directory of path_
  int resolved_watch_ = -1;  // directory of resolved_path_, if different
  std::chrono::milliseconds debounce_{200};
  std::optional<clock::time_point> deadline_;
  std::optional<clock::time_point> first_pending_event_;  // bounds the debounce under non-stop writes
  std::optional<uint64_t> content_hash_;                  // of the content last reported (or seen at open)
};

struct ConfigFileWatcher::open_result {
  std::optional<ConfigFileWatcher> watcher;
  std::string error;  // set when watcher is empty
};

}  // namespace ringgate::config
