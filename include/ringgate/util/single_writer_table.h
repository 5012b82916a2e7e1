#pragma once
// A fixed-capacity, append-only map from a string key to a Value, written by one
// thread (a worker) and read concurrently by others (the metrics scrape).
// Entries are never removed or moved: a slot is filled, then published with a
// release store of its key pointer; readers acquire it and see the whole entry.
// Used for per-worker statistics keyed by label values (model names), whose
// number is bounded by capacity: past it, find_or_add() returns the overflow
// entry so a client sending random model names cannot grow memory or metrics.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ringgate::util {

template <class Value, size_t Capacity>
class SingleWriterTable {
  static_assert((Capacity & (Capacity - 1)) == 0, "Capacity must be a power of two");

 public:
  struct Entry {
    std::string key;
    Value value;
  };

  SingleWriterTable() : overflow_{std::string(kOverflowKey), Value{}} {}
  SingleWriterTable(const SingleWriterTable&) = delete;
  SingleWriterTable& operator=(const SingleWriterTable&) = delete;
  ~SingleWriterTable() {
    for (auto& s : slots_) delete s.load(std::memory_order_relaxed);
  }

  static constexpr std::string_view kOverflowKey = "other";

  // Writer thread only. Allocates once per new key.
  Value& find_or_add(std::string_view key) {
    size_t mask = Capacity - 1;
    for (size_t i = hash(key) & mask, probes = 0; probes < Capacity; i = (i + 1) & mask, ++probes) {
      Entry* e = slots_[i].load(std::memory_order_relaxed);
      if (!e) {
        if (size_ >= Capacity * 3 / 4) break;  // keep probes short; the rest is "other"
        e = new Entry{std::string(key), Value{}};
        slots_[i].store(e, std::memory_order_release);
        ++size_;
        return e->value;
      }
      if (e->key == key) return e->value;
    }
    return overflow_.value;
  }

  // Writer thread only: the entry of `key`, null if it has none (nothing is added).
  Value* find(std::string_view key) {
    size_t mask = Capacity - 1;
    for (size_t i = hash(key) & mask, probes = 0; probes < Capacity; i = (i + 1) & mask, ++probes) {
      Entry* e = slots_[i].load(std::memory_order_relaxed);
      if (!e) return nullptr;
      if (e->key == key) return &e->value;
    }
    return nullptr;
  }

  // Any thread: fn(std::string_view key, const Value&) for every entry, then the
  // overflow entry.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (auto& s : slots_)
      if (const Entry* e = s.load(std::memory_order_acquire)) fn(std::string_view(e->key), e->value);
    fn(std::string_view(overflow_.key), overflow_.value);
  }

 private:
  static size_t hash(std::string_view s) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a: keys are short model names
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return size_t(h);
  }

  std::array<std::atomic<Entry*>, Capacity> slots_{};
  Entry overflow_;
  size_t size_ = 0;
};

}  // namespace ringgate::util
