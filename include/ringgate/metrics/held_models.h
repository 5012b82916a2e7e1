#pragma once
// The models a worker holds requests for (proxy::ModelHold) by their own names, for the
// scale-from-zero wake hook (control/wake_hook.h). The flow-control series count held
// requests too, but their model labels are bounded to the names the pool serves or knew
// (a pool at zero knows none: "other"); the hook must name the model it wakes.
// One slot per held model (as many as ModelHold holds at once): the worker writes a
// slot's name when a model's queue opens (a seqlock around the bytes) and its held count
// as it moves; the control thread reads them without a lock, retrying a torn name.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringgate::metrics {

class HeldModels {
 public:
  static constexpr size_t kSlots = 64;          // proxy::ModelHold::kMaxModels
  static constexpr size_t kMaxNameBytes = 256;  // a longer name is held but not published

  // Worker thread: slot `i` now stands for `model` (held 0 until set_held).
  void open(size_t i, std::string_view model) {
    Slot& s = slots_[i];
    s.held.store(0, std::memory_order_relaxed);
    const size_t length = model.size() <= kMaxNameBytes ? model.size() : 0;
    s.seq.fetch_add(1, std::memory_order_acq_rel);  // odd: being written
    std::atomic_thread_fence(std::memory_order_release);
    for (size_t k = 0; k < length; ++k) s.name[k].store(model[k], std::memory_order_relaxed);
    s.length.store(uint16_t(length), std::memory_order_relaxed);
    s.seq.fetch_add(1, std::memory_order_release);  // even: whole
  }
  // Worker thread: requests held for slot `i`'s model now (0: the slot is free).
  void set_held(size_t i, int64_t held) { slots_[i].held.store(held, std::memory_order_relaxed); }

  // Any thread: fn(model, held) for every slot holding requests for a named model.
  template <class Fn>
  void for_each(Fn&& fn) const {
    std::string name;
    for (const Slot& s : slots_) {
      const int64_t held = s.held.load(std::memory_order_relaxed);
      if (held <= 0) continue;
      for (int attempt = 0; attempt < 4; ++attempt) {
        const uint32_t before = s.seq.load(std::memory_order_acquire);
        if (before & 1) continue;
        const size_t length = s.length.load(std::memory_order_relaxed);
        name.resize(length);
        for (size_t k = 0; k < length; ++k) name[k] = s.name[k].load(std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (s.seq.load(std::memory_order_relaxed) != before) continue;
        if (length > 0) fn(std::string_view(name), held);
        break;
      }
    }
  }

 private:
  struct Slot {
    std::atomic<uint32_t> seq{0};
    std::atomic<uint16_t> length{0};
    std::atomic<int64_t> held{0};
    std::array<std::atomic<char>, kMaxNameBytes> name{};
  };
  std::array<Slot, kSlots> slots_;
};

}  // namespace ringgate::metrics
