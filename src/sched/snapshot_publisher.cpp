#include "ringgate/sched/snapshot_publisher.h"

#include <algorithm>

namespace ringgate::sched {

SnapshotPublisher::SnapshotPublisher(size_t max_readers)
    : hazards_(new HazardSlot[max_readers]), max_readers_(max_readers) {}

SnapshotPublisher::~SnapshotPublisher() {
    for (const EndpointSnapshot* s : retired_) delete s;
    delete current_.load(std::memory_order_acquire);
}

uint64_t SnapshotPublisher::publish(std::unique_ptr<EndpointSnapshot> next) {
    uint64_t v = version_.load(std::memory_order_relaxed) + 1;
    next->set_version(v);
    const EndpointSnapshot* old = current_.exchange(next.release(), std::memory_order_seq_cst);
    version_.store(v, std::memory_order_release);
    if (old) retired_.push_back(old);
    reclaim();
    return v;
}

size_t SnapshotPublisher::reclaim() {
    // A reader publishes its hazard (seq_cst) and then re-checks current_; we
    // swapped current_ (seq_cst) before scanning, so any reader that could
    // still use a retired pointer has its hazard visible to this scan.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    auto held = [&](const EndpointSnapshot* s) {
        for (size_t i = 0; i < max_readers_; ++i)
            if (hazards_[i].ptr.load(std::memory_order_seq_cst) == s) return true;
        return false;
    };
    auto keep_end = std::partition(retired_.begin(), retired_.end(), held);
    for (auto it = keep_end; it != retired_.end(); ++it) delete *it;
    retired_.erase(keep_end, retired_.end());
    return retired_.size();
}

SnapshotPublisher::Reader SnapshotPublisher::reader(size_t slot) {
    return Reader(slot < max_readers_ ? this : nullptr, slot);
}

const EndpointSnapshot* SnapshotPublisher::Reader::refresh() {
    if (!publisher_) return nullptr;
    std::atomic<const EndpointSnapshot*>& current = publisher_->current_;
    std::atomic<const EndpointSnapshot*>& hazard = publisher_->hazards_[slot_].ptr;
    const EndpointSnapshot* p = current.load(std::memory_order_acquire);
    if (p == held_) return held_;  // nothing new: no store needed
    for (;;) {
        hazard.store(p, std::memory_order_seq_cst);
        const EndpointSnapshot* again = current.load(std::memory_order_seq_cst);
        if (again == p) break;
        p = again;
    }
    held_ = p;
    return held_;
}

void SnapshotPublisher::Reader::release() {
    if (!publisher_) return;
    publisher_->hazards_[slot_].ptr.store(nullptr, std::memory_order_release);
    held_ = nullptr;
}

}  // namespace ringgate::sched
