#pragma once
// Timers as per-duration timeout lists (h2o lib/common/timeout.c): every timer of one
// duration expires in the order it was armed, so each duration is one intrusive FIFO
// list; arming appends, cancelling unlinks (both O(1)), and expiry looks at list heads
// only. A worker has a handful of durations (idle, header, body, connect, first byte,
// read idle, write stall, pool idle, request), never a scan over its sockets.
#include <cstdint>
#include <memory>
#include <vector>

namespace ringgate::net {

class Timer;

class TimerTarget {
 public:
  virtual ~TimerTarget() = default;
  virtual void on_timer(Timer& timer) = 0;
};

class TimeoutList;

class Timer {
 public:
  Timer(TimerTarget* target, uint8_t id) : target_(target), id_(id) {}
  ~Timer() { cancel(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  bool armed() const { return list_ != nullptr; }
  uint8_t id() const { return id_; }
  uint64_t expires_at() const { return expires_at_; }
  void cancel();

 private:
  friend class TimeoutList;
  friend class Timers;
  TimerTarget* target_;
  uint8_t id_;
  TimeoutList* list_ = nullptr;
  Timer* prev_ = nullptr;
  Timer* next_ = nullptr;
  uint64_t expires_at_ = 0;
};

class TimeoutList {
 public:
  explicit TimeoutList(uint64_t duration_ms) : duration_ms_(duration_ms) {}
  uint64_t duration_ms() const { return duration_ms_; }
  bool empty() const { return head_ == nullptr; }
  uint64_t next_expiry() const { return head_ ? head_->expires_at_ : UINT64_MAX; }

 private:
  friend class Timer;
  friend class Timers;
  void append(Timer& timer, uint64_t now_ms);
  void unlink(Timer& timer);
  uint64_t duration_ms_;
  Timer* head_ = nullptr;
  Timer* tail_ = nullptr;
};

class Timers {
 public:
  // (Re)arms `timer` to fire `duration_ms` after `now_ms` (a 0 duration = cancel).
  void arm(Timer& timer, uint64_t duration_ms, uint64_t now_ms);
  // Earliest expiry over every list (UINT64_MAX = none).
  uint64_t next_expiry() const;
  // Fires every timer due at `now_ms`; callbacks may arm and cancel timers.
  void run(uint64_t now_ms);
  size_t list_count() const { return lists_.size(); }

 private:
  TimeoutList& list_for(uint64_t duration_ms);
  std::vector<std::unique_ptr<TimeoutList>> lists_;  // few: one per distinct duration
};

}  // namespace ringgate::net
