#include "ringgate/control/placement_payload.h"

#include "ringgate/sched/placement_record.h"

namespace ringgate::control {

bool append_placement(std::string& out, std::string_view address, std::span<const uint64_t> entries) {
  if (address.empty() || address.size() > kMaxPlacementAddressBytes || entries.empty() ||
      entries.size() > sched::kMaxPlacementEntries)
    return false;
  out.push_back(char(address.size()));
  out += address;
  out.push_back(char(entries.size() & 0xff));
  out.push_back(char(entries.size() >> 8));
  for (const uint64_t h : entries)
    for (int b = 0; b < 8; ++b) out.push_back(char(h >> (8 * b)));
  return true;
}

uint64_t PlacementView::entry(size_t i) const {
  uint64_t h = 0;
  for (size_t b = 0; b < 8; ++b) h |= uint64_t(uint8_t(entries[8 * i + b])) << (8 * b);
  return h;
}

PayloadStep next_placement(std::string_view p, size_t& at, PlacementView& out) {
  if (at >= p.size()) return PayloadStep::End;
  const size_t address_bytes = uint8_t(p[at]);
  if (address_bytes == 0 || p.size() - at < placement_record_bytes(address_bytes, 0)) return PayloadStep::Malformed;
  const size_t count = size_t(uint8_t(p[at + 1 + address_bytes])) | size_t(uint8_t(p[at + 2 + address_bytes])) << 8;
  if (count == 0 || count > sched::kMaxPlacementEntries || p.size() - at < placement_record_bytes(address_bytes, count))
    return PayloadStep::Malformed;
  out.address = p.substr(at + 1, address_bytes);
  out.entries = p.substr(at + 3 + address_bytes, 8 * count);
  at += placement_record_bytes(address_bytes, count);
  return PayloadStep::Record;
}

}  // namespace ringgate::control
