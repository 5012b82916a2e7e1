#pragma once
// --enable-cert-reload's key pair as the ext-proc port loads it. A certificate renewed without
// its key (a Secret half-updated, a wrong key) must not fail every new handshake: the Go
// EPP's certwatcher keeps the last good pair. So the port loads a private copy that only
// checked pairs reach: a thread looks at the source every period; a pair that loads and
// checks is written to a new directory and a symlink swapped to it (gRPC's own advice for
// an atomic update); one that does not is logged once and the last good pair stays.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ringgate/util/result.h"

namespace ringgate::epp {

struct KeyCertPair {
  std::string key;   // PEM
  std::string cert;  // PEM
  bool operator==(const KeyCertPair&) const = default;
};

class CheckedCertFiles {
 public:
  // Reads the source pair and checks that it is one (an error says why not).
  using Loader = std::function<util::Result<KeyCertPair>()>;

  // `first`, already checked, is published before this returns; `load` runs every
  // period_seconds on the thread. An error: no private directory could be made.
  static util::Result<std::unique_ptr<CheckedCertFiles>> start(KeyCertPair first, Loader load, unsigned period_seconds);
  ~CheckedCertFiles();  // stops the thread, removes the private directory
  CheckedCertFiles(const CheckedCertFiles&) = delete;
  CheckedCertFiles& operator=(const CheckedCertFiles&) = delete;

  // The files gRPC watches: <private>/current/tls.key and tls.crt.
  std::string key_path() const { return dir_ + "/current/tls.key"; }
  std::string cert_path() const { return dir_ + "/current/tls.crt"; }
  // Counts the pairs published there (1 after start()): a change means a new pair to load.
  uint64_t generation() const { return published_.load(std::memory_order_acquire); }

 private:
  CheckedCertFiles(std::string dir, Loader load, unsigned period_seconds);
  util::Result<void> publish(const KeyCertPair& pair);
  void run();

  std::string dir_;
  Loader load_;
  unsigned period_seconds_;
  KeyCertPair current_;
  std::string last_error_;  // logged once until the source changes or loads
  uint64_t generation_ = 0;
  std::atomic<uint64_t> published_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ringgate::epp
