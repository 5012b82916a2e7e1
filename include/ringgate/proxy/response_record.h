#pragma once
// One change to the response-id table (proxy/response_table.h) as a worker hands it to
// the control thread, which passes it on to the other gateway replicas (sharedState;
// control/shared_responses.h): an id learned from an answer, held by `server`, or an id
// forgotten (a DELETE its server answered). Each worker writes its own ring
// (util/spsc_ring.h); the rings exist only while state is shared. A record is a fixed
// 272 bytes (no allocation on the worker): ids longer than kMaxIdBytes are never kept.
#include <array>
#include <cstdint>
#include <string_view>

#include "ringgate/proxy/response_table.h"
#include "ringgate/util/spsc_ring.h"

namespace ringgate::proxy {

inline constexpr size_t kResponseRingSize = 512;  // per worker: ~25 syncs of 1k new responses/s

struct ResponseRecord {
  uint64_t server = 0;  // the holder's address hash (learned only)
  uint16_t id_bytes = 0;
  bool forget = false;
  std::array<char, ResponseTable::kMaxIdBytes> id;
  std::string_view id_view() const { return {id.data(), id_bytes}; }
};

using ResponseRing = util::SpscRing<ResponseRecord>;

// Appends a change to `ring` (null: nothing shared); false when not passed on (no ring,
// an id out of bounds, or the ring full: counted by the ring).
inline bool record_response(ResponseRing* ring, std::string_view id, uint64_t server, bool forget) {
  if (ring == nullptr || id.empty() || id.size() > ResponseTable::kMaxIdBytes) return false;
  ResponseRecord* r = ring->claim();
  if (r == nullptr) return false;
  r->server = server;
  r->forget = forget;
  r->id_bytes = uint16_t(id.size());
  id.copy(r->id.data(), id.size());
  ring->commit();
  return true;
}

}  // namespace ringgate::proxy
