// inotify delivers events synchronously with the file operation, and changed() takes
// the current time as an argument, so these tests need no sleeps and no timing luck.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <stdlib.h>

#include "ringgate/config/config_file_watcher.h"

using namespace ringgate::config;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char name[] = "/tmp/ringgate-watcher-XXXXXX";
    REQUIRE(mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write_file(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

ConfigFileWatcher open_watcher(const fs::path& path) {
  auto opened = ConfigFileWatcher::open(path.string(), 100ms);
  REQUIRE_MESSAGE(opened.watcher.has_value(), opened.error);
  return std::move(*opened.watcher);
}

// What the kubelet does when a ConfigMap changes: write the files into a new timestamped
// directory, point "..data_tmp" at it, rename it over "..data", remove the old directory.
void configmap_publish(const fs::path& dir, const std::string& version, std::string_view content,
                       const std::string& previous) {
  fs::create_directory(dir / version);
  write_file(dir / version / "config.yaml", content);
  fs::create_directory_symlink(version, dir / "..data_tmp");
  fs::rename(dir / "..data_tmp", dir / "..data");
  if (!previous.empty()) fs::remove_all(dir / previous);
}

}  // namespace

TEST_CASE("a ConfigMap ..data symlink swap is noticed, after the debounce, once") {
  TempDir tmp;
  const fs::path dir = tmp.path;
  fs::create_directory(dir / "..2026_11_22_01_00_00.1");
  write_file(dir / "..2026_11_22_01_00_00.1" / "config.yaml", "workers: 1\n");
  fs::create_directory_symlink("..2026_11_22_01_00_00.1", dir / "..data");
  fs::create_symlink("..data/config.yaml", dir / "config.yaml");

  ConfigFileWatcher watcher = open_watcher(dir / "config.yaml");
  CHECK(watcher.resolved_path() == fs::canonical(dir / "..2026_11_22_01_00_00.1" / "config.yaml").string());
  auto t0 = ConfigFileWatcher::clock::now();
  CHECK_FALSE(watcher.changed(t0));
  CHECK_FALSE(watcher.next_check().has_value());

  configmap_publish(dir, "..2026_11_22_01_05_00.2", "workers: 2\n", "..2026_11_22_01_00_00.1");
  CHECK_FALSE(watcher.changed(t0));  // events seen; still within the debounce
  REQUIRE(watcher.next_check().has_value());
  CHECK(*watcher.next_check() == t0 + 100ms);
  CHECK(watcher.changed(t0 + 100ms));
  CHECK(watcher.resolved_path() == fs::canonical(dir / "..2026_11_22_01_05_00.2" / "config.yaml").string());
  CHECK_FALSE(watcher.changed(t0 + 1s));  // reported once
  CHECK_FALSE(watcher.next_check().has_value());

  // A second swap: the watch on the (new) resolved directory was re-pointed.
  configmap_publish(dir, "..2026_11_22_01_10_00.3", "workers: 3\n", "..2026_11_22_01_05_00.2");
  CHECK_FALSE(watcher.changed(t0 + 2s));
  CHECK(watcher.changed(t0 + 3s));

  // A swap to identical content is not a change.
  configmap_publish(dir, "..2026_11_22_01_15_00.4", "workers: 3\n", "..2026_11_22_01_10_00.3");
  CHECK_FALSE(watcher.changed(t0 + 4s));
  CHECK_FALSE(watcher.changed(t0 + 5s));

  // ... unless the caller asks to hear about the next event regardless.
  watcher.reset_baseline();
  configmap_publish(dir, "..2026_11_22_01_20_00.5", "workers: 3\n", "..2026_11_22_01_15_00.4");
  CHECK_FALSE(watcher.changed(t0 + 6s));
  CHECK(watcher.changed(t0 + 7s));
}

TEST_CASE("plain files: write in place, editor rename-over, touch, unrelated files, delete and recreate") {
  TempDir tmp;
  const fs::path file = tmp.path / "ringgate.yaml";
  write_file(file, "a\n");
  ConfigFileWatcher watcher = open_watcher(file);
  auto t = ConfigFileWatcher::clock::now();

  write_file(file, "b\n");
  CHECK_FALSE(watcher.changed(t));
  CHECK(watcher.changed(t + 1s));

  write_file(tmp.path / ".ringgate.yaml.swp", "b2\n");  // editor temp file: not our name
  CHECK_FALSE(watcher.changed(t + 2s));
  CHECK_FALSE(watcher.next_check().has_value());
  fs::rename(tmp.path / ".ringgate.yaml.swp", file);
  CHECK_FALSE(watcher.changed(t + 3s));
  CHECK(watcher.changed(t + 4s));

  write_file(file, "b2\n");  // rewritten with the same content
  CHECK_FALSE(watcher.changed(t + 5s));
  CHECK_FALSE(watcher.changed(t + 6s));

  write_file(tmp.path / "other.yaml", "x\n");
  CHECK_FALSE(watcher.changed(t + 7s));
  CHECK_FALSE(watcher.next_check().has_value());

  fs::remove(file);
  CHECK_FALSE(watcher.changed(t + 8s));
  CHECK_FALSE(watcher.changed(t + 9s));  // gone: nothing to reload
  write_file(file, "c\n");
  CHECK_FALSE(watcher.changed(t + 10s));
  CHECK(watcher.changed(t + 11s));
}

TEST_CASE("a symlink into another directory: edits of the target are seen") {
  TempDir tmp;
  fs::create_directory(tmp.path / "etc");
  fs::create_directory(tmp.path / "real");
  write_file(tmp.path / "real" / "gw.yaml", "1\n");
  fs::create_symlink(tmp.path / "real" / "gw.yaml", tmp.path / "etc" / "ringgate.yaml");
  ConfigFileWatcher watcher = open_watcher(tmp.path / "etc" / "ringgate.yaml");
  auto t = ConfigFileWatcher::clock::now();
  write_file(tmp.path / "real" / "gw.yaml", "2\n");
  CHECK_FALSE(watcher.changed(t));
  CHECK(watcher.changed(t + 1s));
}

TEST_CASE("non-stop writes still get reported after five debounce periods") {
  TempDir tmp;
  const fs::path file = tmp.path / "c.yaml";
  write_file(file, "0\n");
  ConfigFileWatcher watcher = open_watcher(file);
  auto t = ConfigFileWatcher::clock::now();
  write_file(file, "1\n");
  CHECK_FALSE(watcher.changed(t));
  CHECK(*watcher.next_check() == t + 100ms);
  write_file(file, "2\n");
  CHECK_FALSE(watcher.changed(t + 80ms));
  CHECK(*watcher.next_check() == t + 180ms);  // quiet period restarted
  write_file(file, "3\n");
  CHECK_FALSE(watcher.changed(t + 450ms));
  CHECK(*watcher.next_check() == t + 500ms);  // capped: first event + 5 x 100ms
  CHECK(watcher.changed(t + 500ms));
}

TEST_CASE("opening: missing directory is an error; missing file is fine; the watcher moves") {
  auto bad = ConfigFileWatcher::open("/nonexistent-dir/ringgate.yaml");
  CHECK_FALSE(bad.watcher.has_value());
  CHECK(bad.error.find("/nonexistent-dir") != std::string::npos);
  CHECK(ConfigFileWatcher::open("").error.find("empty path") != std::string::npos);

  TempDir tmp;
  auto opened = ConfigFileWatcher::open((tmp.path / "later.yaml").string(), 10ms);
  REQUIRE(opened.watcher.has_value());
  ConfigFileWatcher watcher = std::move(*opened.watcher);
  CHECK(watcher.fd() >= 0);
  CHECK(opened.watcher->fd() == -1);
  auto t = ConfigFileWatcher::clock::now();
  write_file(tmp.path / "later.yaml", "x\n");
  CHECK_FALSE(watcher.changed(t));
  CHECK(watcher.changed(t + 1s));
}

TEST_CASE("the directory is replaced: deleted then recreated (IN_IGNORED), and renamed over") {
  TempDir tmp;
  const fs::path dir = tmp.path / "conf";
  fs::create_directory(dir);
  write_file(dir / "ringgate.yaml", "1\n");
  ConfigFileWatcher watcher = open_watcher(dir / "ringgate.yaml");
  auto t = ConfigFileWatcher::clock::now();

  // Deleted: the watch is gone (IN_IGNORED). Nothing to reload while it is away,
  // but the watcher keeps looking for it.
  fs::remove_all(dir);
  CHECK_FALSE(watcher.changed(t));
  CHECK_FALSE(watcher.changed(t + 1s));
  REQUIRE(watcher.next_check().has_value());  // polls for the directory's return
  // Back, after the debounce expired, with new content: seen.
  fs::create_directory(dir);
  write_file(dir / "ringgate.yaml", "2\n");
  CHECK(watcher.changed(t + 2s));
  CHECK_FALSE(watcher.changed(t + 3s));
  // And edits inside the new directory are seen through a new watch.
  write_file(dir / "ringgate.yaml", "3\n");
  CHECK_FALSE(watcher.changed(t + 4s));
  CHECK(watcher.changed(t + 5s));
  CHECK_FALSE(watcher.next_check().has_value());

  // Another directory renamed over it (the old inode's watch now points elsewhere).
  fs::create_directory(tmp.path / "conf.new");
  write_file(tmp.path / "conf.new" / "ringgate.yaml", "4\n");
  fs::rename(dir, tmp.path / "conf.old");
  fs::rename(tmp.path / "conf.new", dir);
  CHECK_FALSE(watcher.changed(t + 6s));
  CHECK(watcher.changed(t + 7s));
  write_file(tmp.path / "conf.old" / "ringgate.yaml", "old dir, not ours\n");
  CHECK_FALSE(watcher.changed(t + 8s));
  CHECK_FALSE(watcher.changed(t + 9s));
  write_file(dir / "ringgate.yaml", "5\n");  // the new directory is the one watched
  CHECK_FALSE(watcher.changed(t + 10s));
  CHECK(watcher.changed(t + 11s));
}

TEST_CASE("the inotify queue overflows (IN_Q_OVERFLOW): the lost change is still found") {
  TempDir tmp;
  const fs::path file = tmp.path / "ringgate.yaml";
  write_file(file, "1\n");
  ConfigFileWatcher watcher = open_watcher(file);
  auto t = ConfigFileWatcher::clock::now();
  // Fill the queue (fs.inotify.max_queued_events, 16384 by default) with events
  // about other files, so that the config's own event is dropped.
  int queue_limit = 16384;
  if (std::ifstream limit("/proc/sys/fs/inotify/max_queued_events"); limit) limit >> queue_limit;
  REQUIRE(queue_limit <= 200000);
  for (int i = 0; i <= queue_limit / 2 + 16; ++i) write_file(tmp.path / ("flood-" + std::to_string(i)), "");
  write_file(file, "2\n");
  CHECK_FALSE(watcher.changed(t));
  CHECK(watcher.changed(t + 1s));
  // Still watching afterwards.
  write_file(file, "3\n");
  CHECK_FALSE(watcher.changed(t + 2s));
  CHECK(watcher.changed(t + 3s));
}
