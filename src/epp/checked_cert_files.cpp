#include "ringgate/epp/checked_cert_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace ringgate::epp {
namespace {

util::Result<void> write_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return util::Error{"cannot write " + path};
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ::close(fd);
      return util::Error{"cannot write " + path};
    }
    done += size_t(n);
  }
  ::close(fd);
  return {};
}

}  // namespace

util::Result<std::unique_ptr<CheckedCertFiles>> CheckedCertFiles::start(KeyCertPair first, Loader load,
                                                                        unsigned period_seconds) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/ringgate-epp-certs-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) return util::Error{"cannot make a directory for the reloaded key pair"};
  std::unique_ptr<CheckedCertFiles> files(new CheckedCertFiles(pattern, std::move(load), period_seconds));
  if (auto published = files->publish(first); !published) return published.error();
  files->thread_ = std::thread([f = files.get()] { f->run(); });
  return files;
}

CheckedCertFiles::CheckedCertFiles(std::string dir, Loader load, unsigned period_seconds)
    : dir_(std::move(dir)), load_(std::move(load)), period_seconds_(period_seconds) {}

CheckedCertFiles::~CheckedCertFiles() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

util::Result<void> CheckedCertFiles::publish(const KeyCertPair& pair) {
  const std::string gen = "gen-" + std::to_string(++generation_);
  const std::string gen_dir = dir_ + "/" + gen;
  if (::mkdir(gen_dir.c_str(), 0700) != 0) return util::Error{"cannot make " + gen_dir};
  if (auto w = write_file(gen_dir + "/tls.key", pair.key); !w) return w;
  if (auto w = write_file(gen_dir + "/tls.crt", pair.cert); !w) return w;
  const std::string link = dir_ + "/current.new";
  ::unlink(link.c_str());
  if (::symlink(gen.c_str(), link.c_str()) != 0 || ::rename(link.c_str(), (dir_ + "/current").c_str()) != 0)
    return util::Error{"cannot point " + dir_ + "/current at " + gen};
  // The generation before the last may still be open in gRPC's reader: only older ones go.
  if (generation_ > 2) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_ + "/gen-" + std::to_string(generation_ - 2), ignored);
  }
  current_ = pair;
  published_.store(generation_, std::memory_order_release);
  return {};
}

void CheckedCertFiles::run() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, std::chrono::seconds(period_seconds_), [&] { return stop_; })) {
    lock.unlock();
    util::Result<KeyCertPair> pair = load_();
    if (!pair) {
      if (pair.error().message != last_error_) {
        last_error_ = pair.error().message;
        std::fprintf(stderr, "ringgate: ext-proc certificate reload rejected, the last good pair stays: %s\n",
                     last_error_.c_str());
      }
    } else {
      last_error_.clear();
      if (!(pair.value() == current_)) {
        if (auto published = publish(pair.value()); !published)
          std::fprintf(stderr, "ringgate: ext-proc certificate reload failed, the last good pair stays: %s\n",
                       published.error().message.c_str());
      }
    }
    lock.lock();
  }
}

}  // namespace ringgate::epp
