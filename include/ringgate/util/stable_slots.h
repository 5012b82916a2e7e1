#pragma once
// Per-id slots that never move: one writer (the control thread) makes an id addressable
// (ensure()) before it publishes the id; every thread then reaches its slot with one
// acquire load and never allocates or locks. Slots live in chunks of kChunkSize allocated
// on demand and freed only with the object, so a slot's address is stable for its life.
// Ids never ensured (or past kChunkSize * kMaxChunks) have no slot: at() is nullptr.
// `T` is the caller's (usually alignas(64) atomics, one cache line per id).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace ringgate::util {

template <typename T, size_t kChunkSize = 256, size_t kMaxChunks = 1024>
class StableSlots {
 public:
  static constexpr size_t kMaxIds = kChunkSize * kMaxChunks;

  StableSlots() : chunks_(new std::atomic<Chunk*>[kMaxChunks]) {
    for (size_t i = 0; i < kMaxChunks; ++i) chunks_[i].store(nullptr, std::memory_order_relaxed);
  }
  ~StableSlots() {
    for (size_t i = 0; i < kMaxChunks; ++i) delete chunks_[i].load(std::memory_order_relaxed);
  }
  StableSlots(const StableSlots&) = delete;
  StableSlots& operator=(const StableSlots&) = delete;

  // The one writer: make `id` addressable. False if it is past kMaxIds.
  bool ensure(size_t id) {
    const size_t chunk = id / kChunkSize;
    if (chunk >= kMaxChunks) return false;
    if (!chunks_[chunk].load(std::memory_order_acquire)) chunks_[chunk].store(new Chunk(), std::memory_order_release);
    return true;
  }

  T* at(size_t id) const {
    const size_t chunk = id / kChunkSize;
    if (chunk >= kMaxChunks) return nullptr;
    Chunk* c = chunks_[chunk].load(std::memory_order_acquire);
    return c ? &c->slots[id % kChunkSize] : nullptr;
  }

 private:
  struct Chunk {
    T slots[kChunkSize];
  };
  std::unique_ptr<std::atomic<Chunk*>[]> chunks_;
};

}  // namespace ringgate::util
