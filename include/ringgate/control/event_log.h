#pragma once
// What happened to the pool lately, with times, for the admin status page (GET
// /debug/events): endpoints that joined, left, stopped or started being routable, were
// ejected by passive health or readmitted, and config reloads. A ring of `capacity`
// events: the oldest go first, so its memory is bounded whatever the pool does, and
// each event's texts are cut at kMaxTextBytes (pod names and scrape errors come from
// outside). Any thread may record (reloads come from the main thread); a mutex guards
// the ring, which only the control thread and reloads touch, never a worker.
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/control/admin_server.h"

namespace ringgate::control {

enum class EventKind { Joined, Left, Unroutable, Routable, Ejected, Readmitted, Reloaded, ReloadRejected, Draining };

std::string_view to_string(EventKind kind);

struct Event {
  uint64_t seq = 0;      // 1, 2, ... in recording order
  int64_t unix_ms = 0;   // wall clock, for people
  EventKind kind = EventKind::Joined;
  std::string endpoint;  // host:port, or empty (reloads)
  std::string detail;    // why, in words
};

class EventLog {
 public:
  static constexpr size_t kCapacity = 256;
  static constexpr size_t kMaxTextBytes = 256;

  explicit EventLog(size_t capacity = kCapacity);

  // `unix_ms` < 0: now.
  void record(EventKind kind, std::string_view endpoint, std::string_view detail, int64_t unix_ms = -1);
  // The events after `since` (a seq) that the ring still holds, oldest first; the newest
  // seq recorded into `last_seq`.
  std::vector<Event> after(uint64_t since, uint64_t* last_seq = nullptr) const;

  // GET /debug/events?since=N: {"last_seq", "capacity", "events": [...]} with the events
  // after N (all that the ring holds without a query). A page that finds last_seq below
  // the seq it asked from is talking to a restarted gateway. A bad query: 400, API error body.
  AdminResponse render(std::string_view query) const;

 private:
  size_t capacity_;
  mutable std::mutex mutex_;
  std::vector<Event> ring_;  // ring_[seq % capacity_] once full
  uint64_t last_seq_ = 0;
};

}  // namespace ringgate::control
