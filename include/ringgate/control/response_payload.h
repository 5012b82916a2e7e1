#pragma once
// The wire form of response-id changes in the replicas' shared stream
// (shared_responses.h): one stream entry's payload is records of
//   kind (1 byte: 'L' learned, 'F' forgotten),
//   id length (2 bytes, little-endian, 1..kMaxResponsePayloadIdBytes), the id (no control bytes),
//   the holder's address hash (8 bytes, little-endian; 0 for a forgotten id).
// Another replica wrote it, or anyone with access to Redis: reading checks every length
// against what is left and stops at the first fault.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/control/placement_payload.h"  // PayloadStep
#include "ringgate/proxy/response_table.h"

namespace ringgate::control {

inline constexpr size_t kMaxResponsePayloadIdBytes = proxy::ResponseTable::kMaxIdBytes;

constexpr size_t response_record_bytes(size_t id_bytes) { return 1 + 2 + id_bytes + 8; }

// Appends one record; false (nothing appended) when the id is empty, too long or holds
// control bytes.
bool append_response(std::string& out, std::string_view id, uint64_t server, bool forget);

struct ResponseChange {
  std::string_view id;
  uint64_t server = 0;
  bool forget = false;
};

// The record at `at` into `out`, `at` moved past it; End at the payload's end;
// Malformed (`at` unmoved) at a fault.
PayloadStep next_response(std::string_view payload, size_t& at, ResponseChange& out);

}  // namespace ringgate::control
