// vLLM's ZmqEventPublisher (vllm/distributed/kv_events.py, vLLM 0.12): a PUB
// socket sending each KVEventBatch as [topic, 8-byte big-endian sequence,
// msgpack payload], sequences counted from 0; the last `buffer_steps` payloads
// kept for a ROUTER replay socket, which answers [identity, "", start sequence
// (8 bytes big-endian)] with every buffered [identity, "", seq, payload] from
// that sequence on, then [identity, "", -1 as 8 bytes, ""].
// Like vLLM's it runs in a thread of its own, fed through a bounded queue, so
// the engine loop never waits on a socket.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "ringgate/kvevents/kv_event.h"
#include "ringgate/sim/options.h"

namespace ringgate::sim {

// vLLM's ZmqEventPublisher.offset_endpoint_port: the endpoint data-parallel rank `rank`
// publishes on. Rank 0 (and an empty endpoint) as given; an "inproc" endpoint gets "_dp<rank>"
// appended; a "tcp" one its port + rank (no ':' at all: as given). Anything else (ipc://), or a
// port that is not a number, is vLLM's ValueError: empty result and `error` set. The sim's one
// extension: a "*" port (zmq's free port) stays "*", each rank binding a free port of its own.
std::string offset_endpoint_port(std::string_view endpoint, uint32_t rank, std::string& error);

class KvEventPublisher {
 public:
  ~KvEventPublisher();
  KvEventPublisher(const KvEventPublisher&) = delete;
  KvEventPublisher& operator=(const KvEventPublisher&) = delete;

  // Opens the sockets (bind when the endpoint has "*", "::", ipc:// or
  // inproc://, else connect, as vLLM decides) and starts the thread. Null and
  // `error` set when a socket cannot be opened.
  static std::unique_ptr<KvEventPublisher> start(const KvEventsConfig& config, std::string& error);

  // Queues one batch (dropped, and counted, when the queue is full).
  void publish(kvevents::KvEventBatch batch);

  // The addresses actually bound ("tcp://127.0.0.1:PORT" for a "*" port).
  const std::string& endpoint() const { return endpoint_; }
  const std::string& replay_endpoint() const { return replay_endpoint_; }

 private:
  explicit KvEventPublisher(const KvEventsConfig& config) : config_(config) {}
  void run();
  void send_batch(const kvevents::KvEventBatch& batch);
  void service_replay();

  KvEventsConfig config_;
  void* context_ = nullptr;
  void* pub_ = nullptr;
  void* replay_ = nullptr;
  int wake_fd_ = -1;  // eventfd: a batch is queued or stop() was called
  std::string endpoint_;
  std::string replay_endpoint_;

  std::mutex mutex_;
  std::deque<kvevents::KvEventBatch> queue_;
  bool stopping_ = false;
  uint64_t dropped_ = 0;

  // Publisher thread only.
  uint64_t next_seq_ = 0;
  std::deque<std::pair<uint64_t, std::string>> buffer_;
  std::thread thread_;
};

}  // namespace ringgate::sim
