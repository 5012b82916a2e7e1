#pragma once
// What other threads tell the control thread for /metrics and /readyz: draining (SIGTERM),
// config reloads applied or rejected, the API listener's TLS and API keys (the main
// thread), Kubernetes objects rejected as malformed (the discovery threads), static names that
// did not resolve (the static resolver's thread), and the admin
// requests the admin gate refused (the control thread). Any thread.
#include <signal.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>

#include "ringgate/control/gateway_metrics.h"

namespace ringgate::control {

class ControlStatus {
 public:
  // True the first time: /readyz answers 503 from now on (SIGTERM: let load balancers move away).
  bool begin_drain() { return !draining_.exchange(true); }
  // Draining, or a SIGTERM/SIGINT already sent but not yet taken by the main thread:
  // "/readyz 503 at once" must not depend on when that thread is scheduled.
  bool draining() const;
  // Only begin_drain() (not a pending signal): a worker that stopped while draining is expected.
  bool drain_begun() const { return draining_.load(); }
  void count_reload(bool applied) { (applied ? reloads_ok_ : reloads_failed_).fetch_add(1, std::memory_order_relaxed); }
  // Set at start, then after each certificate reload, applied or not (the certificate
  // served stays the last good one).
  void set_tls(TlsStatus status) {
    std::lock_guard lock(mutex_);
    tls_ = std::move(status);
  }
  // Set at start, then after each reload of the keys file.
  void set_auth(AuthStatus status) {
    std::lock_guard lock(mutex_);
    auth_ = status;
  }
  // A Kubernetes object of kube_object_kinds[kind] was rejected as malformed.
  void count_kube_rejected(size_t kind) {
    if (kind < kube_rejected_.size()) kube_rejected_[kind].fetch_add(1, std::memory_order_relaxed);
  }
  // A static entry's name did not resolve (its last good addresses stay in the pool).
  void count_resolve_failure() { resolve_failures_.fetch_add(1, std::memory_order_relaxed); }
  void count_admin_rejection() { admin_auth_rejections_.fetch_add(1, std::memory_order_relaxed); }

  // Into the counters /metrics renders.
  void fill(ControlCounters& counters) const {
    counters.config_reloads_ok = reloads_ok_.load(std::memory_order_relaxed);
    counters.config_reloads_failed = reloads_failed_.load(std::memory_order_relaxed);
    {
      std::lock_guard lock(mutex_);
      counters.tls = tls_;
      counters.auth = auth_;
    }
    counters.admin_auth_rejections = admin_auth_rejections_.load(std::memory_order_relaxed);
    counters.resolve_failures = resolve_failures_.load(std::memory_order_relaxed);
    for (size_t i = 0; i < kube_rejected_.size(); ++i)
      counters.kube_objects_rejected[i] = kube_rejected_[i].load(std::memory_order_relaxed);
  }

 private:
  std::atomic<bool> draining_{false};
  std::atomic<uint64_t> reloads_ok_{0}, reloads_failed_{0};
  mutable std::mutex mutex_;  // tls_ and auth_
  TlsStatus tls_;
  AuthStatus auth_;
  std::atomic<uint64_t> admin_auth_rejections_{0};
  std::atomic<uint64_t> resolve_failures_{0};
  std::array<std::atomic<uint64_t>, 4> kube_rejected_{};
};

inline bool ControlStatus::draining() const {
  if (draining_.load()) return true;
  // Every thread blocks these signals (the main thread takes them through a signalfd), so a
  // delivered one stays pending for the process until that thread reads it.
  sigset_t pending;
  if (sigpending(&pending) != 0) return false;
  return sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1;
}

}  // namespace ringgate::control
