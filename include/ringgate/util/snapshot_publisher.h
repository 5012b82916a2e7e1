#pragma once
// THE way the control side hands immutable state to the workers (endpoint snapshots,
// request rules, the model catalog): RCU-style publication with hazard-pointer
// reclamation.
//
// publish() (any thread; publishers are serialised by a mutex, never a reader) makes
// a new T current. Each worker owns one Reader slot and calls Reader::refresh() at the
// top of its loop: wait-free, one acquire load when nothing changed, never a lock. A T
// is deleted only once it is no longer current and no reader's hazard slot points at
// it, so a pointer returned by refresh() (and references into it) stay valid until
// that same reader's next refresh() or release().
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace ringgate::util {

template <class T>
class SnapshotPublisher {
 public:
  // max_readers = number of reader slots (workers, plus the control thread if it reads).
  explicit SnapshotPublisher(size_t max_readers) : hazards_(new HazardSlot[max_readers]), max_readers_(max_readers) {}
  ~SnapshotPublisher() {  // all readers must have stopped
    for (const T* s : retired_) delete s;
    delete current_.load(std::memory_order_acquire);
  }
  SnapshotPublisher(const SnapshotPublisher&) = delete;
  SnapshotPublisher& operator=(const SnapshotPublisher&) = delete;

  // Makes `next` current and returns its version (1, 2, ...); a T with
  // set_version(uint64_t) is stamped with it. Frees what no reader holds any more.
  uint64_t publish(std::unique_ptr<T> next) {
    std::lock_guard lock(mutex_);
    const uint64_t v = version_.load(std::memory_order_relaxed) + 1;
    if constexpr (requires(T& t) { t.set_version(v); }) next->set_version(v);
    const T* old = current_.exchange(next.release(), std::memory_order_seq_cst);
    version_.store(v, std::memory_order_release);
    if (old) retired_.push_back(old);
    reclaim_locked();
    return v;
  }
  // Frees retired snapshots no reader holds; returns how many still wait.
  size_t reclaim() {
    std::lock_guard lock(mutex_);
    return reclaim_locked();
  }
  size_t retired_count() const {
    std::lock_guard lock(mutex_);
    return retired_.size();
  }
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

  class Reader {
   public:
    Reader() = default;
    // Move-only: a slot's hazard must have exactly one owner thread.
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    Reader(Reader&& other) noexcept { *this = std::move(other); }
    Reader& operator=(Reader&& other) noexcept {
      publisher_ = other.publisher_;
      slot_ = other.slot_;
      held_ = other.held_;
      other.publisher_ = nullptr;
      other.held_ = nullptr;
      return *this;
    }
    // The newest T (nullptr before the first publish, or for a default Reader). Call at
    // the top of each loop turn; the previous pointer becomes invalid.
    const T* refresh() {
      if (!publisher_) return nullptr;
      const std::atomic<const T*>& current = publisher_->current_;
      std::atomic<const T*>& hazard = publisher_->hazards_[slot_].ptr;
      const T* p = current.load(std::memory_order_acquire);
      if (p == held_) return held_;  // nothing new: no store needed
      for (;;) {
        hazard.store(p, std::memory_order_seq_cst);
        const T* again = current.load(std::memory_order_seq_cst);
        if (again == p) break;
        p = again;
      }
      held_ = p;
      return held_;
    }
    // The T from the last refresh() (no atomic access).
    const T* current() const { return held_; }
    // Drops the hazard (worker exit or idle): lets the publisher free it.
    void release() {
      if (!publisher_) return;
      publisher_->hazards_[slot_].ptr.store(nullptr, std::memory_order_release);
      held_ = nullptr;
    }

   private:
    friend class SnapshotPublisher;
    Reader(const SnapshotPublisher* p, size_t slot) : publisher_(p), slot_(slot) {}
    const SnapshotPublisher* publisher_ = nullptr;
    size_t slot_ = 0;
    const T* held_ = nullptr;
  };
  // The reader for slot `slot` (< max_readers; else a Reader that sees nothing). One
  // thread per slot.
  Reader reader(size_t slot) const { return Reader(slot < max_readers_ ? this : nullptr, slot); }

 private:
  struct alignas(64) HazardSlot {
    std::atomic<const T*> ptr{nullptr};
  };

  size_t reclaim_locked() {
    // A reader publishes its hazard (seq_cst) and then re-checks current_; current_
    // was swapped (seq_cst) before this scan, so any reader that could still use a
    // retired pointer has its hazard visible here.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    auto held = [&](const T* s) {
      for (size_t i = 0; i < max_readers_; ++i)
        if (hazards_[i].ptr.load(std::memory_order_seq_cst) == s) return true;
      return false;
    };
    auto keep_end = std::partition(retired_.begin(), retired_.end(), held);
    for (auto it = keep_end; it != retired_.end(); ++it) delete *it;
    retired_.erase(keep_end, retired_.end());
    return retired_.size();
  }

  std::atomic<const T*> current_{nullptr};
  std::atomic<uint64_t> version_{0};
  std::unique_ptr<HazardSlot[]> hazards_;  // written by readers through a const publisher
  size_t max_readers_;
  mutable std::mutex mutex_;
  std::vector<const T*> retired_;
};

}  // namespace ringgate::util
