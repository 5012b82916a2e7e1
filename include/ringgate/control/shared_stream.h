#pragma once
// One kind of record the gateway's replicas share through a Redis stream (part of
// sharedState): what the workers write into their rings (Record, one util::SpscRing per
// worker; they never wait on Redis) reaches every other replica within a sync or two.
// Every sync, the control thread drains the rings into one entry, at most kMaxEntryBytes
// (records beyond it are dropped and counted), and one round trip (stream_exchange.h)
// appends it to the stream PREFIX:POOL:<name> (trimmed to kStreamEntries) and returns
// the others' entries after the last one read, at most kReadEntries. Everything read is
// bounded and checked: a malformed entry is counted and left where it breaks, the rest
// applied.
//
// What a stream carries and where it goes is its Payload, the one file a new stream
// needs (shared_placements.h, shared_responses.h):
//   static constexpr StreamNames kNames;   // its key, /debug/shared member and metric families
//   static constexpr size_t kRingSize;     // each worker's ring
//   void begin(const sched::EndpointSnapshot&);  // a sync starts (what the reply's records mean)
//   // One record into `entry` (at most `max_bytes` in all): Sent, Dropped (no room, out of
//   // range) or Skipped (nothing to pass on, not counted).
//   StreamAppend append(std::string& entry, size_t max_bytes, const Record&, const sched::EndpointSnapshot&);
//   // One entry of the others' into this replica; `received` counts the records applied.
//   // False when malformed (what came before the fault is applied).
//   bool apply(std::string_view payload, uint64_t& received);
//   void append_debug_members(std::string& out) const;  // its own ",\"name\":value" members, if any
// Control thread only.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "ringgate/control/stream_exchange.h"
#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/util/spsc_ring.h"

namespace ringgate::control {

// What a stream is called: its Redis key's last part and /debug/shared member (`name`),
// and its two families on /metrics: the exchanges Redis answered (`syncs`) and the records
// by direction (`records`: sent, received, dropped, and malformed entries when
// `malformed_direction`).
struct StreamNames {
  std::string_view name;
  std::string_view syncs, syncs_help;
  std::string_view records, records_help;
  bool malformed_direction = false;
};

struct StreamCounts {
  uint64_t syncs = 0, sent = 0, received = 0, dropped = 0, malformed = 0;
};

// The stream's two families, through the metric-family builder /metrics uses.
void append_stream_families(std::string& out, const StreamNames& names, const StreamCounts& counts);
// "sent", "received", "dropped" as JSON members (each after a comma but the first).
void append_stream_debug_counts(std::string& out, const StreamCounts& counts);

enum class StreamAppend { Sent, Dropped, Skipped };

// What SharedState sees of every stream: it syncs them all on its cadence, falls back to
// local for all, and renders them all on /metrics and /debug/shared, in the order added.
class StreamChannel {
 public:
  virtual ~StreamChannel() = default;
  virtual std::string_view name() const = 0;
  virtual void sync(const sched::EndpointSnapshot& snapshot) = 0;
  virtual bool current() const = 0;
  virtual void go_local() = 0;
  virtual void append_metrics(std::string& out) const = 0;
  virtual void append_debug(std::string& out) const = 0;  // a JSON object
};

template <class Record, class Payload>
class SharedStream final : public StreamChannel {
 public:
  using Ring = util::SpscRing<Record>;
  static constexpr size_t kMaxEntryBytes = 32 * 1024;  // one sync's records; more are dropped
  static constexpr size_t kReadEntries = 16;           // the others' entries read a sync (<= 512 KB)
  static constexpr size_t kStreamEntries = 4096;       // what the stream keeps

  // `workers`: one ring each. `prefix`: PREFIX:POOL. `args`: the Payload's.
  template <class... Args>
  SharedStream(RedisClient& client, size_t workers, const std::string& prefix, std::string replica_id,
               std::chrono::milliseconds ttl, Args&&... args)
      : payload_(std::forward<Args>(args)...),
        ring_count_(workers),
        rings_(std::make_unique<Ring[]>(workers)),
        exchange_(client, std::string(Payload::kNames.name), prefix + ":" + std::string(Payload::kNames.name),
                  std::move(replica_id), ttl, {kMaxEntryBytes, kReadEntries, kStreamEntries},
                  [this](std::string_view p) { return apply(p); }) {
    for (size_t i = 0; i < ring_count_; ++i) rings_[i].enable(Payload::kRingSize);
    entry_.reserve(kMaxEntryBytes);
  }
  SharedStream(const SharedStream&) = delete;
  SharedStream& operator=(const SharedStream&) = delete;

  Ring* rings() { return rings_.get(); }
  size_t ring_count() const { return ring_count_; }
  Payload& payload() { return payload_; }

  // Sends what the workers wrote since the last sync and asks for the others' (nothing
  // when the last reply is still awaited: the rings keep the records meanwhile).
  std::string_view name() const override { return Payload::kNames.name; }
  void sync(const sched::EndpointSnapshot& snapshot) override {
    if (!exchange_.ready()) return;
    entry_.clear();
    payload_.begin(snapshot);
    for (size_t i = 0; i < ring_count_; ++i)
      rings_[i].drain([&](const Record& r) {
        switch (payload_.append(entry_, kMaxEntryBytes, r, snapshot)) {
          case StreamAppend::Sent:
            ++counts_.sent;
            break;
          case StreamAppend::Dropped:
            ++counts_.dropped;
            break;
          case StreamAppend::Skipped:
            break;
        }
      });
    exchange_.send(entry_);
  }
  // True while the last sync was answered: this replica holds the others' records.
  bool current() const override { return exchange_.current(); }
  void go_local() override { exchange_.go_local(); }

  // One stream entry's payload taken in; false when malformed. Public for the tests.
  bool apply(std::string_view payload) { return payload_.apply(payload, counts_.received); }

  void append_metrics(std::string& out) const override { append_stream_families(out, Payload::kNames, counts()); }
  void append_debug(std::string& out) const override {
    out += '{';
    append_stream_debug_counts(out, counts());
    payload_.append_debug_members(out);
    exchange_.append_debug_members(out);
    out += '}';
  }

 private:
  StreamCounts counts() const {
    StreamCounts c = counts_;
    c.syncs = exchange_.syncs();
    c.malformed = exchange_.malformed();
    for (size_t i = 0; i < ring_count_; ++i) c.dropped += rings_[i].dropped();  // the rings' and the entry's
    return c;
  }

  Payload payload_;
  size_t ring_count_;
  std::unique_ptr<Ring[]> rings_;
  StreamExchange exchange_;
  std::string entry_;  // this sync's entry, being built
  StreamCounts counts_;
};

}  // namespace ringgate::control
