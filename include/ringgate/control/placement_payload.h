#pragma once
// The wire form of placements in the replicas' shared stream (shared_placements.h): one
// stream entry's payload is records of
//   address length (1 byte, 1..255), the endpoint's "host:port",
//   entry count (2 bytes, little-endian, 1..kMaxPlacementEntries),
//   the prompt's leading prefix entries (8 bytes each, little-endian).
// Another replica wrote it, or anyone with access to Redis: reading checks every length
// against what is left and stops at the first fault.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ringgate::control {

inline constexpr size_t kMaxPlacementAddressBytes = 255;

// Bytes one record takes.
constexpr size_t placement_record_bytes(size_t address_bytes, size_t entries) {
  return 1 + address_bytes + 2 + 8 * entries;
}

// Appends one record; false (nothing appended) when the address or the count is out of
// range.
bool append_placement(std::string& out, std::string_view address, std::span<const uint64_t> entries);

struct PlacementView {
  std::string_view address;
  std::string_view entries;  // 8 bytes each, little-endian
  size_t count() const { return entries.size() / 8; }
  uint64_t entry(size_t i) const;
};

enum class PayloadStep { Record, End, Malformed };

// The record at `at` into `out`, `at` moved past it; End at the payload's end.
PayloadStep next_placement(std::string_view payload, size_t& at, PlacementView& out);

}  // namespace ringgate::control
