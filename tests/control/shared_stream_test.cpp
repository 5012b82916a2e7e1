// What one replica writes to Redis in a sync, at each bound (issue 71 §7): an entry of the
// shared responses or placements stream holds records up to kMaxEntryBytes (32 KiB) and
// not one byte more (the others read a longer entry as malformed); a placement carries a
// prompt's first kMaxPlacementEntries entries. (The records' own bounds, an id's 256 bytes
// and an address's, are response_payload_test.cpp's and placement_payload_test.cpp's.)
#include "ringgate/control/shared_stream.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ringgate/control/placement_payload.h"
#include "ringgate/control/response_payload.h"
#include "ringgate/control/shared_placements.h"
#include "ringgate/control/shared_responses.h"

using namespace ringgate;
using namespace ringgate::control;

namespace {

proxy::ResponseRecord response_record(std::string_view id, uint64_t server) {
  proxy::ResponseRecord r;
  r.server = server;
  r.id_bytes = uint16_t(id.size());
  id.copy(r.id.data(), id.size());
  return r;
}

sched::EndpointSnapshot one_endpoint(sched::EndpointId id, std::string host, uint16_t port) {
  std::vector<sched::EndpointState> v(1);
  v[0].id = id;
  v[0].address.host = std::move(host);
  v[0].address.port = port;
  v[0].address_hash = sched::address_hash(v[0].address.host, port);
  return sched::EndpointSnapshot(std::move(v));
}

sched::PlacementRecord placement(sched::EndpointId endpoint, uint32_t count) {
  sched::PlacementRecord r;
  r.endpoint = endpoint;
  r.count = count;
  for (size_t i = 0; i < r.hashes.size(); ++i) r.hashes[i] = 1000 + i;
  return r;
}

}  // namespace

TEST_CASE("shared streams: one entry is at most 32 KiB, as the readers take it") {
  CHECK(SharedResponses::kMaxEntryBytes == 32 * 1024);
  CHECK(SharedPlacements::kMaxEntryBytes == 32 * 1024);
}

TEST_CASE("shared responses: a record that ends the entry at kMaxEntryBytes is sent, one byte more is dropped") {
  constexpr size_t kMax = SharedResponses::kMaxEntryBytes;
  proxy::ResponseTable table;
  ResponseStream stream(table, 1);
  const sched::EndpointSnapshot snapshot({});
  const std::string id(256, 'r');
  const proxy::ResponseRecord record = response_record(id, 7);
  const size_t bytes = response_record_bytes(id.size());

  std::string entry(kMax - bytes, 'x');  // N: the record fills the entry exactly
  CHECK(stream.append(entry, kMax, record, snapshot) == StreamAppend::Sent);
  CHECK(entry.size() == kMax);

  entry.assign(kMax - bytes + 1, 'x');  // N+1: it would pass the bound by one byte
  CHECK(stream.append(entry, kMax, record, snapshot) == StreamAppend::Dropped);
  CHECK(entry.size() == kMax - bytes + 1);  // nothing appended

  // A sync's worth from empty: whole records while they fit, then every one dropped, and
  // what was written reads back whole.
  entry.clear();
  size_t sent = 0, dropped = 0;
  const size_t tries = 2 * (kMax / bytes);
  for (size_t i = 0; i < tries; ++i)
    (stream.append(entry, kMax, record, snapshot) == StreamAppend::Sent ? sent : dropped)++;
  CHECK(sent == kMax / bytes);
  CHECK(dropped == tries - kMax / bytes);
  CHECK(entry.size() == sent * bytes);
  size_t at = 0, read = 0;
  ResponseChange change;
  while (next_response(entry, at, change) == PayloadStep::Record) ++read;
  CHECK(read == sent);
  CHECK(at == entry.size());
}

TEST_CASE("shared placements: a record that ends the entry at kMaxEntryBytes is sent, one byte more is dropped") {
  constexpr size_t kMax = SharedPlacements::kMaxEntryBytes;
  sched::PrefixIndex index;
  PlacementStream stream(index);
  const sched::EndpointSnapshot snapshot = one_endpoint(3, "127.0.0.1", 8000);
  stream.begin(snapshot);
  const sched::PlacementRecord record = placement(3, sched::kMaxPlacementEntries);
  const size_t bytes = placement_record_bytes(std::string_view("127.0.0.1:8000").size(), sched::kMaxPlacementEntries);

  std::string entry(kMax - bytes, 'x');
  CHECK(stream.append(entry, kMax, record, snapshot) == StreamAppend::Sent);
  CHECK(entry.size() == kMax);

  entry.assign(kMax - bytes + 1, 'x');
  CHECK(stream.append(entry, kMax, record, snapshot) == StreamAppend::Dropped);
  CHECK(entry.size() == kMax - bytes + 1);

  entry.clear();
  size_t sent = 0, dropped = 0;
  const size_t tries = 2 * (kMax / bytes);
  for (size_t i = 0; i < tries; ++i)
    (stream.append(entry, kMax, record, snapshot) == StreamAppend::Sent ? sent : dropped)++;
  CHECK(sent == kMax / bytes);
  CHECK(dropped == tries - kMax / bytes);
  CHECK(entry.size() == sent * bytes);
}

TEST_CASE("shared placements: a record carries kMaxPlacementEntries entries, a longer one its first that many") {
  constexpr size_t kMax = SharedPlacements::kMaxEntryBytes;
  constexpr size_t kEntries = sched::kMaxPlacementEntries;
  static_assert(kEntries == 128);
  sched::PrefixIndex index;
  PlacementStream stream(index);
  const sched::EndpointSnapshot snapshot = one_endpoint(3, "127.0.0.1", 8000);
  stream.begin(snapshot);
  for (const uint32_t count : {uint32_t(kEntries), uint32_t(kEntries + 1)}) {
    CAPTURE(count);
    std::string entry;
    CHECK(stream.append(entry, kMax, placement(3, count), snapshot) == StreamAppend::Sent);
    size_t at = 0;
    PlacementView v;
    REQUIRE(next_placement(entry, at, v) == PayloadStep::Record);
    CHECK(v.address == "127.0.0.1:8000");
    REQUIRE(v.count() == kEntries);
    CHECK(v.entry(0) == 1000);
    CHECK(v.entry(kEntries - 1) == 1000 + kEntries - 1);
    CHECK(next_placement(entry, at, v) == PayloadStep::End);
  }
  // An endpoint that left the pool since: nothing to pass on.
  std::string entry;
  CHECK(stream.append(entry, kMax, placement(4, 1), snapshot) == StreamAppend::Skipped);
  CHECK(entry.empty());
}
