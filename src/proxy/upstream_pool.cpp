#include "ringgate/proxy/upstream_pool.h"

#include <algorithm>

namespace ringgate::proxy {

UpstreamPool::~UpstreamPool() { close_idle(); }

UpstreamChannel* UpstreamPool::open(uint32_t endpoint_id, const net::Address& address, bool allow_reuse,
                                    const RequestImage& image, AttemptListener* listener) {
  UpstreamConnection* connection = allow_reuse ? take(endpoint_id) : nullptr;
  const bool reused = connection != nullptr;
  if (reused) {
    rt_.counters->upstream_reuses.add();
  } else {
    connection = new UpstreamConnection(rt_, endpoint_id, address);
    if (!connection->connect()) {
      delete connection;  // no operation was submitted
      return nullptr;
    }
    rt_.counters->upstream_connects.add();
  }
  connection->begin(image, listener, reused);
  return connection;
}

UpstreamConnection* UpstreamPool::take(uint32_t endpoint_id) {
  if (endpoint_id >= idle_.size()) return nullptr;
  auto& list = idle_[endpoint_id];
  while (!list.empty()) {
    UpstreamConnection* connection = list.back();
    list.pop_back();
    connection->pooled = false;
    if (!connection->closing()) return connection;
  }
  return nullptr;
}

void UpstreamPool::put(UpstreamConnection* connection) {
  const uint32_t id = connection->endpoint_id();
  if (id >= idle_.size()) idle_.resize(size_t(id) + 1);
  idle_[id].push_back(connection);
  connection->pooled = true;
}

void UpstreamPool::remove(UpstreamConnection* connection) {
  if (!connection->pooled) return;
  auto& list = idle_[connection->endpoint_id()];
  list.erase(std::remove(list.begin(), list.end(), connection), list.end());
  connection->pooled = false;
}

void UpstreamPool::close_idle() {
  for (auto& list : idle_) {
    std::vector<UpstreamConnection*> closing;
    closing.swap(list);
    for (UpstreamConnection* connection : closing) {
      connection->pooled = false;
      connection->close();
    }
  }
}

size_t UpstreamPool::idle_count() const {
  size_t n = 0;
  for (const auto& list : idle_) n += list.size();
  return n;
}

}  // namespace ringgate::proxy
