#include "ringgate/config/config_file_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include <xxhash.h>

#include "ringgate/config/config_loader.h"

namespace ringgate::config {

namespace {

namespace fs = std::filesystem;

constexpr uint32_t dir_events = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_MODIFY | IN_DELETE |
                                IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

std::string parent_of(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

std::string name_of(const std::string& path) { return fs::path(path).filename().string(); }

std::string resolve(const std::string& path) {
  std::error_code ec;
  fs::path real = fs::canonical(path, ec);
  return ec ? std::string() : real.string();
}

}  // namespace

ConfigFileWatcher::open_result ConfigFileWatcher::open(std::string path, std::chrono::milliseconds debounce) {
  open_result result;
  if (path.empty()) {
    result.error = "config file watcher: empty path";
    return result;
  }
  ConfigFileWatcher watcher;
  watcher.path_ = std::move(path);
  watcher.debounce_ = debounce;
  watcher.inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (watcher.inotify_fd_ < 0) {
    result.error = std::string("inotify_init1: ") + std::strerror(errno);
    return result;
  }
  const std::string dir = parent_of(watcher.path_);
  watcher.dir_watch_ = inotify_add_watch(watcher.inotify_fd_, dir.c_str(), dir_events);
  if (watcher.dir_watch_ < 0) {
    result.error = "cannot watch directory " + dir + ": " + std::strerror(errno);
    return result;
  }
  watcher.rewatch();
  watcher.content_hash_ = watcher.hash_file();
  result.watcher.emplace(std::move(watcher));
  return result;
}

ConfigFileWatcher::ConfigFileWatcher(ConfigFileWatcher&& other) noexcept { *this = std::move(other); }

ConfigFileWatcher& ConfigFileWatcher::operator=(ConfigFileWatcher&& other) noexcept {
  if (this == &other) return *this;
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  path_ = std::move(other.path_);
  resolved_path_ = std::move(other.resolved_path_);
  inotify_fd_ = std::exchange(other.inotify_fd_, -1);
  dir_watch_ = std::exchange(other.dir_watch_, -1);
  resolved_watch_ = std::exchange(other.resolved_watch_, -1);
  debounce_ = other.debounce_;
  deadline_ = std::exchange(other.deadline_, std::nullopt);
  first_pending_event_ = std::exchange(other.first_pending_event_, std::nullopt);
  content_hash_ = std::exchange(other.content_hash_, std::nullopt);
  return *this;
}

ConfigFileWatcher::~ConfigFileWatcher() {
  if (inotify_fd_ >= 0) ::close(inotify_fd_);  // drops every watch with it
}

void ConfigFileWatcher::rewatch() {
  // Watch whatever directory is at the path now: the same one again (inotify gives
  // back the same descriptor), or a new one after the old was deleted (IN_IGNORED)
  // or renamed away (IN_MOVE_SELF: its watch would follow the old inode elsewhere).
  const int dir_now = inotify_add_watch(inotify_fd_, parent_of(path_).c_str(), dir_events);
  if (dir_watch_ >= 0 && dir_watch_ != dir_now) inotify_rm_watch(inotify_fd_, dir_watch_);
  dir_watch_ = dir_now;
  resolved_path_ = resolve(path_);
  int wanted = -1;
  if (!resolved_path_.empty()) {
    const std::string real_dir = parent_of(resolved_path_);
    const std::string given_dir = resolve(parent_of(path_));
    if (real_dir != given_dir) wanted = inotify_add_watch(inotify_fd_, real_dir.c_str(), dir_events);
  }
  // inotify returns the same descriptor for the same directory: only drop a watch we no longer want.
  if (resolved_watch_ >= 0 && resolved_watch_ != wanted && resolved_watch_ != dir_watch_)
    inotify_rm_watch(inotify_fd_, resolved_watch_);
  resolved_watch_ = wanted;
}

void ConfigFileWatcher::drain_events(clock::time_point now) {
  alignas(inotify_event) char buffer[16 * (sizeof(inotify_event) + NAME_MAX + 1)];
  const std::string given_name = name_of(path_);
  bool relevant = false;
  for (;;) {
    ssize_t n = ::read(inotify_fd_, buffer, sizeof buffer);
    if (n <= 0) break;  // EAGAIN: drained (or an error we cannot act on)
    for (char* p = buffer; p < buffer + n;) {
      auto* event = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + event->len;
      const std::string_view name = event->len ? std::string_view(event->name) : std::string_view();
      if (event->mask & IN_Q_OVERFLOW) {
        relevant = true;
        continue;
      }
      if (event->mask & IN_IGNORED) {
        // The watched directory was deleted or unmounted.
        if (event->wd == dir_watch_) dir_watch_ = -1;
        if (event->wd == resolved_watch_) resolved_watch_ = -1;
        relevant = true;
        continue;
      }
      if (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
        relevant = true;
        continue;
      }
      if (event->wd == dir_watch_ && (name == given_name || name.starts_with(".."))) relevant = true;
      // ConfigMap layout: "..data", "..2026_11_22_..." and "..data_tmp" all start with "..".
      if (event->wd == resolved_watch_ && name == name_of(resolved_path_)) relevant = true;
    }
  }
  if (!relevant) return;
  if (!first_pending_event_) first_pending_event_ = now;
  // Quiet period restarts with every event, but a file rewritten non-stop is still
  // reported after a few debounce periods.
  clock::time_point quiet = now + debounce_;
  clock::time_point latest = *first_pending_event_ + 5 * debounce_;
  deadline_ = quiet < latest ? quiet : latest;
}

bool ConfigFileWatcher::changed(clock::time_point now) {
  drain_events(now);
  if (!deadline_ || now < *deadline_) return false;
  deadline_.reset();
  first_pending_event_.reset();
  rewatch();
  // The directory is away: no watch can tell when it returns, so look again later.
  if (dir_watch_ < 0) deadline_ = now + debounce_;
  std::optional<uint64_t> hash = hash_file();
  if (!hash || hash == content_hash_) return false;  // gone for now, or same content
  content_hash_ = hash;
  return true;
}

std::optional<uint64_t> ConfigFileWatcher::hash_file() const {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return std::nullopt;
  XXH3_state_t* state = XXH3_createState();
  if (!state) return std::nullopt;
  XXH3_64bits_reset(state);
  char buffer[65536];
  size_t total = 0;
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    XXH3_64bits_update(state, buffer, size_t(in.gcount()));
    total += size_t(in.gcount());
    if (total > max_config_file_bytes) break;  // the loader will reject it; the hash still differs
  }
  const bool ok = !in.bad();
  const uint64_t hash = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  if (!ok) return std::nullopt;
  return hash;
}

}  // namespace ringgate::config
