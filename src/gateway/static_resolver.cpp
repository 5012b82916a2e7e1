#include "ringgate/gateway/static_resolver.h"

#include <algorithm>
#include <cstdio>

namespace ringgate::gateway {

void StaticResolver::set(std::vector<control::DesiredEndpoint> entries, std::chrono::milliseconds interval,
                         control::ControlPlane& control) {
  control::StaticResolution probe;
  probe.set_entries(entries);
  if (!thread_.joinable() && probe.names().empty()) {
    control.set_endpoints(std::move(entries), /*synced=*/true);  // literals only: nothing to resolve
    return;
  }
  {
    std::lock_guard lock(mutex_);
    pending_ = std::move(entries);
    interval_ = interval;
    control_ = &control;
  }
  wake_.notify_one();
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void StaticResolver::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void StaticResolver::run() {
  control::StaticResolution resolution;
  std::optional<std::vector<control::DesiredEndpoint>> published;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (pending_) {
      resolution.set_entries(std::move(*pending_));
      pending_.reset();
    }
    control::ControlPlane& control = *control_;
    const std::chrono::milliseconds interval = interval_;
    lock.unlock();
    for (const std::string& name : resolution.names()) {
      std::optional<std::vector<std::string>> answer = control::resolve_host(name);
      if (!answer) {
        std::fprintf(stderr, "ringgate: static endpoint name %s does not resolve (its last addresses stay)\n",
                     name.c_str());
        control.count_resolve_failure();
      } else if (answer->size() > control::kMaxAddressesPerName) {
        std::fprintf(stderr, "ringgate: static endpoint name %s resolves to %zu addresses: the first %zu used\n",
                     name.c_str(), answer->size(), control::kMaxAddressesPerName);
      }
      resolution.apply(name, answer);
    }
    std::vector<control::DesiredEndpoint> members = resolution.endpoints();
    // The whole list is compared (a reload may change a role or a port while every answer
    // stays): only a change is handed over.
    if (!published || !std::equal(members.begin(), members.end(), published->begin(), published->end(),
                                  [](const control::DesiredEndpoint& a, const control::DesiredEndpoint& b) {
                                    return a.host == b.host && a.port == b.port && a.admin_host == b.admin_host &&
                                           a.admin_port == b.admin_port && a.role == b.role && a.gateway == b.gateway &&
                                           a.priority == b.priority && a.rank == b.rank &&
                                           a.data_parallel_size == b.data_parallel_size &&
                                           a.context_range == b.context_range && a.admin_key_file == b.admin_key_file;
                                  })) {
      control.set_endpoints(members, /*synced=*/true);
      published = std::move(members);
    }
    lock.lock();
    if (stopping_ || pending_) continue;
    wake_.wait_for(lock, interval, [this] { return stopping_ || pending_.has_value(); });
  }
}

}  // namespace ringgate::gateway
