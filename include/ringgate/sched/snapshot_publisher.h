#pragma once
// RCU-style publication of EndpointSnapshot (hazard-pointer reclamation).
//
// The control thread calls publish() (and reclaim(), which publish() also
// runs); each worker owns one Reader slot and calls Reader::refresh() at the
// top of its loop. refresh() is wait-free in the common case (one acquire load
// when nothing changed) and never locks. A snapshot is deleted only once it is
// no longer current and no reader's hazard slot points at it, so a pointer
// returned by refresh() (and references into it) stay valid until that same
// reader's next refresh() or release().

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "ringgate/sched/endpoint_snapshot.h"

namespace ringgate::sched {

class SnapshotPublisher {
public:
    // max_readers = number of worker slots (fixed for the publisher's life).
    explicit SnapshotPublisher(size_t max_readers);
    ~SnapshotPublisher();  // all readers must have stopped
    SnapshotPublisher(const SnapshotPublisher&) = delete;
    SnapshotPublisher& operator=(const SnapshotPublisher&) = delete;

    // Control thread: make `next` current; stamps and returns its version (1, 2, ...).
    uint64_t publish(std::unique_ptr<EndpointSnapshot> next);
    // Control thread: free retired snapshots no reader holds. Returns how many
    // are still waiting (held by some reader).
    size_t reclaim();
    size_t retired_count() const { return retired_.size(); }
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
        // The newest snapshot (nullptr before the first publish). Call at the
        // top of each loop iteration; the previous pointer becomes invalid.
        const EndpointSnapshot* refresh();
        // The snapshot from the last refresh() (no atomic access).
        const EndpointSnapshot* current() const { return held_; }
        // Drop the hazard (worker exit or idle): lets the control thread free it.
        void release();
    private:
        friend class SnapshotPublisher;
        Reader(SnapshotPublisher* p, size_t slot) : publisher_(p), slot_(slot) {}
        SnapshotPublisher* publisher_ = nullptr;
        size_t slot_ = 0;
        const EndpointSnapshot* held_ = nullptr;
    };
    // Reader for worker `slot` (< max_readers). One thread per slot.
    Reader reader(size_t slot);

private:
    struct alignas(64) HazardSlot {
        std::atomic<const EndpointSnapshot*> ptr{nullptr};
    };
    std::atomic<const EndpointSnapshot*> current_{nullptr};
    std::atomic<uint64_t> version_{0};
    std::unique_ptr<HazardSlot[]> hazards_;
    size_t max_readers_;
    std::vector<const EndpointSnapshot*> retired_;  // control thread only
};

}  // namespace ringgate::sched
