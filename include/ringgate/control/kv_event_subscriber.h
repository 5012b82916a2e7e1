#pragma once
// Follows each model server's KV-cache event stream (vLLM's ZmqEventPublisher:
// PUB [topic, 8-byte big-endian seq, msgpack KVEventBatch], ROUTER replay) and
// keeps the exact block index in step with it.
//
// Per endpoint: a SUB socket on `address` (and a replay request to
// `replay_address` when given). The first batch seen must be seq 0 (the
// stream's start) or the missing ones are asked for by replay; a sequence gap
// is asked for the same way. When replay cannot fill it (no replay socket, the
// publisher's buffer no longer has them, no answer in time) the endpoint's set
// is not trusted (ExactState::Fallback: the approximate index scores it) until
// it is exact again: the publisher restarts (seq 0: the set is emptied) or
// announces AllBlocksCleared. A payload that does not decode within the limits
// is a gap too.
//
// Runs its own thread (ZMQ sockets are not pollable by the control loop's
// epoll in edge-triggered terms that stay simple); set_sources() from any thread.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ringgate/kvevents/kv_event.h"
#include "ringgate/sched/exact_block_index.h"

namespace ringgate::control {

struct KvEventSource {
  sched::EndpointId id = sched::kNoEndpoint;
  std::string address;         // "tcp://host:port" of the PUB socket
  std::string replay_address;  // "tcp://host:port" of the ROUTER, or ""
  bool operator==(const KvEventSource&) const = default;
};

struct KvEventSubscriberCounters {
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> decode_errors{0};
  std::atomic<uint64_t> gaps{0};
  std::atomic<uint64_t> replayed_batches{0};
};

class KvEventSubscriber {
 public:
  KvEventSubscriber(sched::ExactBlockIndex& index, kvevents::KvEventLimits limits, std::string topic);
  ~KvEventSubscriber();
  KvEventSubscriber(const KvEventSubscriber&) = delete;
  KvEventSubscriber& operator=(const KvEventSubscriber&) = delete;

  // The endpoints to follow now (others are dropped and purged from the index).
  void set_sources(std::vector<KvEventSource> sources);

  const KvEventSubscriberCounters& counters() const { return counters_; }

 private:
  struct Stream;
  void run();
  void apply_sources();
  void on_readable(Stream& s);
  void deliver(Stream& s, uint64_t seq, std::string_view payload, bool replayed);
  bool replay(Stream& s, uint64_t from, uint64_t until);
  void fall_back(Stream& s, std::string reason);

  sched::ExactBlockIndex& index_;
  kvevents::KvEventLimits limits_;
  std::string topic_;
  void* context_ = nullptr;
  int wake_fd_ = -1;
  KvEventSubscriberCounters counters_;

  std::mutex mutex_;
  std::vector<KvEventSource> pending_;
  bool changed_ = false;
  bool stopping_ = false;

  std::vector<std::unique_ptr<Stream>> streams_;  // subscriber thread only
  std::thread thread_;
};

}  // namespace ringgate::control
